"""The MONAI Label app against a real server on 127.0.0.1, driven by MONAI Label's own client (the Slicer plugin's).

One server serves the whole module (starting one costs ~20 s): HOME, caches and logs in temporary folders, small
bundles trained for the test, stopped by its pid when the module ends, failed or not.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import requests
import SimpleITK as sitk
import torch
from monai.bundle import ConfigParser
from PIL import Image

from monai_gamanet.cli import serve
from monai_gamanet.networks import create_depth_network

ROOT = Path(__file__).resolve().parents[2]
CURVE_TRAIN = ROOT / "bundles" / "spine_curve_segmentation" / "configs" / "train.yaml"
DEPTH_OVERRIDES = '{"spatial_size":[24,48]}'  # no spaces: the monailabel launcher splits arguments on them
# 1e-3, one photo a step: a U-Net trained from scratch on the 3 labelled photos finds the line within the training
# test's 30 epochs (measured: from epoch 13; at the bundle's 1e-4 and batch 8 it takes far longer)
CURVE_OVERRIDES = '{"spatial_size":[64,128],"learning_rate":0.001,"batch_size":1}'
MAX_PIXELS = 1_000_000
MAX_UPLOAD_MB = 4


def studies_hash(folder: Path) -> str:
    """A digest of every file (name and bytes) under the studies folder."""
    h = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.name != ".lock"):
        h.update(str(path.relative_to(folder)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def background_network() -> torch.nn.Module:
    """The curve bundle's U-Net answering "background" everywhere (no curve: line agreement 0): any trained
    candidate that finds a line beats it, so the training test sees the swap (training from scratch: ``--conf
    fine_tune false``).

    The logits are set by the bias of the network's very last convolution (nothing normalises after it), every
    weight being 0: exactly (5, -5) on every pixel in float32 and in bf16 alike. (A bias on the last transposed
    convolution would be removed by the instance norm that follows it, leaving two logits of 0 for rounding to
    decide between.)
    """
    parser = ConfigParser()
    parser.read_config(str(CURVE_TRAIN))
    network = parser.get_parsed_content("network_def")
    with torch.no_grad():
        for p in network.parameters():
            p.zero_()
        last = [m for m in network.modules() if isinstance(m, torch.nn.Conv2d | torch.nn.ConvTranspose2d)][-1]
        assert isinstance(last, torch.nn.Conv2d) and last.out_channels == 2, last
        last.bias.copy_(torch.tensor([5.0, -5.0]))
    return network


def _bundles(work: Path) -> None:
    """The served models: an untrained GAMA-Net and the "background everywhere" U-Net, the same every run."""
    depth, curve = work / "depth", work / "curve"
    torch.manual_seed(0)
    (depth / "models").mkdir(parents=True)
    (curve / "models").mkdir(parents=True)
    torch.save(create_depth_network("gamanet", output_activation="sigmoid").state_dict(), depth / "models/model.pt")
    torch.save(background_network().state_dict(), curve / "models" / "model.pt")


def start_server(work: Path, studies: Path, **extra_conf: str) -> tuple[subprocess.Popen, str]:
    """``monailabel start_server`` with a copy of the app on 127.0.0.1 (bundles in ``work/depth``, ``work/curve``;
    ``extra_conf`` replaces the test's conf values); returns once /info/ answers."""
    port = serve.free_port()
    env = {
        **os.environ,
        "HOME": str(work / "home"),
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "MONAI_LABEL_AUTO_UPDATE_SCORING": "false",
        "PYTHONPATH": str(ROOT),
        # float32 whatever this CPU has: the path of most users' CPUs (AVX2, no bf16), where a test passing only
        # under bf16 rounding was once missed
        "MONAI_GAMANET_NO_CPU_BF16": "1",
    }
    conf = {"depth_bundle": str(work / "depth"), "curve_bundle": str(work / "curve")}
    conf |= {"depth_overrides": DEPTH_OVERRIDES, "curve_overrides": CURVE_OVERRIDES, "max_pixels": str(MAX_PIXELS)}
    conf |= {"work_dir": str(work / "app_model"), "fine_tune": "false", "max_upload_mb": str(MAX_UPLOAD_MB)}
    conf |= extra_conf
    cmd = serve.server_command(studies, "127.0.0.1", port, conf, serve.copy_app(work))
    url = f"http://127.0.0.1:{port}"
    return serve.start_server(cmd, url, work / "server.log", env), url


stop_server = serve.stop_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, phantom_dir: Path, datalist: dict):
    """A MONAI Label server with the app on 127.0.0.1: yields (url, studies folder, work folder)."""
    work = tmp_path_factory.mktemp("label_app")
    studies = work / "studies"
    studies.mkdir()
    for entry in datalist["training"] + datalist["validation"] + datalist["test"]:  # all 10 photos
        shutil.copy(phantom_dir / entry["image"], studies)
    _bundles(work)
    proc, url = start_server(work, studies)
    try:
        yield url, studies, work
    finally:
        stop_server(proc)


@pytest.fixture(scope="module")
def client(server, tmp_path_factory):
    from monailabel.client import MONAILabelClient

    return MONAILabelClient(server[0], tmpdir=str(tmp_path_factory.mktemp("client")))


def train_and_wait(client, model: str, expect: str = "DONE", epochs: int = 1, infer: tuple | None = None) -> dict:
    """``epochs`` of ``model`` through the server, as Slicer's Train button starts it; waits until it ends. A second
    request sent right after the first is refused (429), never queued (MONAI Label's check once raced with the
    training process's start). With ``infer`` (an image id and its photo's size), ``spine_curve`` infers on it all
    the while must keep answering (the new model is swapped in meanwhile)."""
    assert client.train_start(model, {"max_epochs": epochs})
    second = requests.post(f"{client.get_server_url()}/train/{model}", json={"max_epochs": epochs}, timeout=30)
    assert second.status_code == 429 and "in progress" in second.json()["detail"], second.text
    deadline = time.monotonic() + 600
    while (status := client.train_status())["status"] in ("SUBMITTED", "RUNNING"):
        assert time.monotonic() < deadline, "training did not finish in 10 minutes"
        shown = client.info()["train_stats"]
        if status["status"] == "RUNNING" and shown and expect == "DONE":  # what Slicer's progress bar reads:
            first = next(iter(shown.values()))  # the first trainer's stats, no total_time while it trains
            assert next(iter(shown)) == model and "total_time" not in first, shown
        if infer is not None:
            label, _ = client.infer("spine_curve", infer[0], {"result_extension": ".nrrd"})
            assert sitk.ReadImage(label).GetSize()[:2] == infer[1]
        time.sleep(2)
    assert status["status"] == expect, status
    return status


def _geometry(path: Path) -> tuple:
    image = sitk.ReadImage(str(path))
    return image.GetSize()[:2], image.GetSpacing()[:2], image.GetOrigin()[:2], image.GetDirection()


def test_info_lists_models_and_strategies(client) -> None:
    info = client.info()
    # the two curve models are of the type Slicer's panel lists; the float depth map is not a label for it
    assert {info["models"][m]["type"] for m in ("spine_curve", "spine_curve_markups")} == {"segmentation"}
    assert info["models"]["back_depth"]["type"] == "others"
    assert {"random", "first", "curve_uncertainty"} <= set(info["strategies"])
    assert set(info["scoring"]) == {"curve_uncertainty"} and set(info["trainers"]) == {"spine_curve", "back_depth"}
    assert info["datastore"]["total"] == 10


def test_infer_as_slicer_asks_gives_a_label_on_the_photo(client, server) -> None:
    url, studies, _ = server
    image_id = client.next_sample("first", {})["id"]
    photo = studies / f"{image_id}.png"
    label, params = client.infer("spine_curve", image_id, {"result_extension": ".nrrd", "result_dtype": "uint8"})
    result = sitk.ReadImage(label)
    assert result.GetPixelID() == sitk.sitkUInt8 and Path(label).suffix == ".nrrd"
    expected = (Image.open(photo).size, (1.0, 1.0), (0.0, 0.0))
    assert _geometry(Path(label))[:3] == expected == _geometry(photo)[:3]  # lies on the photo in Slicer
    # a one-slice volume, identity direction: what Slicer 5.12's PushVolumeToSlicer reads (a 2D NRRD fails there)
    assert result.GetDimension() == 3 and result.GetSize()[2] == 1
    assert _geometry(Path(label))[3] == (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0)
    assert set(np.unique(sitk.GetArrayFromImage(result))) <= {0, 1}
    morphology = params["morphology"]
    assert isinstance(morphology["curve_found"], bool) and json.dumps(morphology)  # plain Python types
    default, _ = client.infer("spine_curve", image_id, {})  # MONAI Label's default: the photo's own format
    assert Path(default).suffix == ".png" and _geometry(Path(default))[:3] == expected


def test_markups_and_depth_are_fetched_with_the_client(client, server) -> None:
    _, studies, _ = server
    image_id = sorted(p.stem for p in studies.glob("*.png"))[1]
    depth, _ = client.infer("back_depth", image_id, {})
    array = sitk.GetArrayFromImage(sitk.ReadImage(depth))
    height, width = np.asarray(Image.open(studies / f"{image_id}.png")).shape[:2]
    assert array.dtype == np.float32 and array.shape == (1, height, width)  # one slice over the photo
    assert 0.0 <= array.min() and array.max() <= 1.0
    markups, answer = client.infer("spine_curve_markups", image_id, {"surface": True})
    answer = json.loads(answer) if isinstance(answer, bytes) else answer  # the client hands JSON-only replies as bytes
    if answer["morphology"]["curve_found"]:  # (an untrained network: either answer is possible)
        doc = json.loads(Path(markups).read_text())
        assert doc["markups"][0]["type"] == "Curve" and doc["markups"][0]["coordinateSystem"] == "LPS"
    else:
        assert markups is None and "no curve found" in answer["morphology"]["reason"]


def test_bad_requests_are_refused_and_change_nothing(client, server, tmp_path: Path) -> None:
    url, studies, _ = server
    before = studies_hash(studies)
    photo = sorted(studies.glob("*.png"))[0]
    width, height = Image.open(photo).size
    not_image = tmp_path / "notes.png"
    not_image.write_text("not an image")
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    grey = tmp_path / "grey.png"
    Image.fromarray(np.zeros((height, width), np.uint8)).save(grey)
    huge = tmp_path / "huge.png"
    Image.new("RGB", (1200, 1000)).save(huge)  # over the server's --conf max_pixels 1000000
    small_label = tmp_path / "label.png"
    Image.fromarray(np.zeros((height // 2, width), np.uint8)).save(small_label)
    text = tmp_path / "weights.pt"
    text.write_bytes(b"not weights")
    put, post = requests.put, requests.post
    cases = {
        "non-image upload": (put, "/datastore/image?image=new_photo", {"file": not_image}, 400),
        "empty upload": (put, "/datastore/image?image=new_photo", {"file": empty}, 400),
        "grey photo": (put, "/datastore/image?image=new_photo", {"file": grey}, 400),
        "huge photo": (put, "/datastore/image?image=new_photo", {"file": huge}, 413),
        # another photo under a taken id (the same photo again is a 200 that changes nothing: Slicer sends it so)
        "existing id": (put, f"/datastore/image?image={photo.stem}", {"file": sorted(studies.glob("*.png"))[1]}, 409),
        ".. in image id": (put, "/datastore/image?image=../outside", {"file": photo}, 400),
        "absolute image id": (put, "/datastore/image?image=/tmp/outside", {"file": photo}, 400),
        "dots for a name": (put, "/datastore/image", {"file": ("../...png", photo.read_bytes())}, 400),
        "label of the wrong size": (put, f"/datastore/label?image={photo.stem}&tag=final", {"label": small_label}, 400),
        ".. in label tag": (put, f"/datastore/label?image={photo.stem}&tag=..", {"label": small_label}, 400),
        "label for unknown image": (put, "/datastore/label?image=nobody&tag=final", {"label": small_label}, 404),
        "unknown model": (post, f"/infer/no_such_model?image={photo.stem}", {}, 404),
        "unknown image id": (post, "/infer/spine_curve?image=nobody", {}, 404),
        ".. in infer image": (post, "/infer/spine_curve?image=../../etc/passwd", {}, 400),
        "server path as image": (post, f"/infer/spine_curve?image={photo}", {}, 400),
        "infer upload not an image": (post, "/infer/spine_curve", {"file": not_image}, 400),
        "session of a non-image": (put, "/session/", {"files": not_image}, 400),
        "session of a text file": (put, "/session/", {"files": text}, 415),
        "infer on an unknown session": (post, f"/infer/spine_curve?image={photo.stem}&session_id=nosuch", {}, 404),
        "weights upload": (put, "/model/spine_curve", {"file": text}, 403),
        "reload": (post, "/reload", {}, 403),
        "delete image": (requests.delete, f"/datastore/image?id={photo.stem}", {}, 403),
        "dataset zip": (requests.get, "/datastore/dataset", {}, 403),
    }
    for name, (method, route, files, status) in cases.items():
        opened = {k: (v.name, v.read_bytes()) if isinstance(v, Path) else v for k, v in files.items()}
        response = method(url + route, files=opened or None, timeout=60)
        assert response.status_code == status, f"{name}: {response.status_code} {response.text}"
        assert response.json()["detail"], name  # a message naming the problem
    for params, why in [
        ({"model_filename": "../../weights.pt"}, "model_filename"),
        ({"image": str(photo)}, "image"),
        ({"label_tag": "../x", "save_label": True}, "label_tag"),
        ([1, 2], "JSON object"),
    ]:
        response = post(f"{url}/infer/spine_curve?image={photo.stem}", data={"params": json.dumps(params)}, timeout=60)
        assert response.status_code == 400 and why in response.json()["detail"], response.text
    bad_json = post(f"{url}/infer/spine_curve?image={photo.stem}", data={"params": "{bad"}, timeout=60)
    assert bad_json.status_code == 400 and "JSON" in bad_json.json()["detail"]
    assert requests.get(f"{url}/info/", timeout=30).status_code == 200  # still up
    assert studies_hash(studies) == before  # nothing written, nothing changed
    # a path in the upload's file name: MONAI Label keeps its base name; the photo lands inside the studies folder
    response = put(f"{url}/datastore/image", files={"file": ("../../outside.png", photo.read_bytes())}, timeout=60)
    assert response.status_code == 200 and response.json() == {"image": "outside"}
    assert (studies / "outside.png").is_file() and not (studies.parent.parent / "outside.png").exists()


def test_a_corrupt_model_swapped_in_keeps_the_good_one_serving(client, server) -> None:
    """Weights replaced by hand with garbage while serving: the model that loaded keeps answering (once a 500)."""
    url, studies, work = server
    image_id = sorted(p.stem for p in studies.glob("case_*.png"))[2]
    served = work / "curve" / "models" / "model.pt"
    good = served.read_bytes()
    expected, _ = client.infer("spine_curve", image_id, {"result_extension": ".nrrd"})
    expected = sitk.GetArrayFromImage(sitk.ReadImage(expected))
    try:
        for garbage in (b"", b"not weights", good[: len(good) // 2]):
            tmp = served.with_name(".garbage.part")
            tmp.write_bytes(garbage)
            os.replace(tmp, served)
            label, _ = client.infer("spine_curve", image_id, {"result_extension": ".nrrd"})
            assert np.array_equal(sitk.GetArrayFromImage(sitk.ReadImage(label)), expected)
        assert "spine_curve" in client.info()["models"]  # still listed: it still serves
    finally:
        tmp = served.with_name(".good.part")
        tmp.write_bytes(good)
        os.replace(tmp, served)


BOUNDARY = "spinecurveboundary"


def _chunks(total: int, size: int = 1 << 20):
    """A multipart photo upload of ``total`` bytes sent chunked (no Content-Length), as a generator."""
    yield (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.png"\r\n'
        "Content-Type: image/png\r\n\r\n"
    ).encode()
    for _ in range(total // size):
        yield b"\0" * size
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


def test_hostile_input_answers_4xx_keeps_the_server_up_and_changes_nothing(client, server, tmp_path: Path) -> None:
    """What a probe of the running server once got 500 (or a wrong 200) for: each a 4xx naming the problem."""
    url, studies, _ = server
    photo = sorted(studies.glob("case_*.png"))[0]
    width, height = Image.open(photo).size
    band = np.zeros((height, width), np.uint8)
    band[20:200, 100:104] = 1
    liver = tmp_path / "liver.seg.nrrd"
    volume = sitk.GetImageFromArray(band[None])
    volume.SetMetaData("Segment0_Name", "liver")
    volume.SetMetaData("Segment0_LabelValue", "1")
    sitk.WriteImage(volume, str(liver), True)
    nan = tmp_path / "nan.nii.gz"
    with_nan = band[None].astype(np.float32)
    with_nan[0, 0, 0] = np.nan
    sitk.WriteImage(sitk.GetImageFromArray(with_nan), str(nan))
    deep = "[" * 100_000 + "]" * 100_000
    before = studies_hash(studies)
    put, post, get = requests.put, requests.post, requests.get
    label_route = f"/datastore/label?image={photo.stem}&tag=final"
    cases = {
        "upload params a list": (put, "/datastore/image?image=p1", {"file": photo}, {"params": "[1]"}, 400),
        "upload params null": (put, "/datastore/image?image=p1", {"file": photo}, {"params": "null"}, 400),
        "upload params deep": (put, "/datastore/image?image=p1", {"file": photo}, {"params": deep}, 400),
        "label params a list": (put, label_route, {"label": ("l.png", band)}, {"params": "[1]"}, 400),
        "label params null": (put, label_route, {"label": ("l.png", band)}, {"params": "null"}, 400),
        "infer params deep (form)": (post, f"/infer/spine_curve?image={photo.stem}", {}, {"params": deep}, 400),
        "infer params deep (multipart)": (
            post,
            "/infer/spine_curve",
            {"file": photo},
            {"params": deep},
            400,
        ),
        "NUL in a photo name": (put, "/datastore/image", {"file": ("a\x00b.png", photo)}, {}, 400),
        "300-character dotted photo name": (put, "/datastore/image", {"file": ("a." * 150 + "png", photo)}, {}, 400),
        "NUL in a label name": (put, label_route, {"label": ("a\x00.nii.gz", band)}, {}, 400),
        "300-character dotted label name": (put, label_route, {"label": ("a." * 150 + "png", band)}, {}, 400),
        "image info a list": (put, f"/datastore/image/info?image={photo.stem}", {}, {"info": "[1]"}, 400),
        "image info null": (put, f"/datastore/image/info?image={photo.stem}", {}, {"info": "null"}, 400),
        "a client setting the score": (
            put,
            f"/datastore/image/info?image={photo.stem}",
            {},
            {"info": '{"curve_flip_uncertainty": 9}'},
            400,
        ),
        "label info of an unknown photo": (put, "/datastore/label/info?label=nobody&tag=final", {}, {}, 404),
        "a label naming no spine": (put, label_route, {"label": liver}, {}, 400),
        "a NIfTI label with NaN": (put, label_route, {"label": nan}, {}, 400),
        "DICOMweb proxy": (get, "/proxy/dicom/qido/studies", {}, {}, 404),
    }
    if shutil.which("nvidia-smi") is None:
        cases["GPU logs without a GPU"] = (get, "/logs/gpu", {}, {}, 404)
    for name, (method, route, files, data, status) in cases.items():
        opened = {}
        for key, value in files.items():
            if isinstance(value, Path):
                value = (value.name, value)
            label_name, content = value
            if isinstance(content, np.ndarray):
                png = tmp_path / "band.png"
                Image.fromarray(content).save(png)
                content = png
            opened[key] = (label_name, content.read_bytes() if isinstance(content, Path) else content)
        response = method(url + route, files=opened or None, data=data or None, timeout=120)
        assert response.status_code == status, f"{name}: {response.status_code} {response.text[:300]}"
        assert response.json()["detail"], name  # a message naming the problem
    multipart = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    chunked = put(f"{url}/datastore/image?image=p2", data=_chunks((MAX_UPLOAD_MB + 2) << 20), headers=multipart)
    assert chunked.status_code == 413 and "limit" in chunked.json()["detail"]
    assert requests.get(f"{url}/info/", timeout=30).status_code == 200  # still up
    assert studies_hash(studies) == before  # nothing written, nothing changed
    # a palette PNG is stored converted to RGB, and served (it was once a 500 at infer and broke scoring)
    palette = tmp_path / "palette.png"
    Image.open(photo).convert("P", palette=Image.Palette.ADAPTIVE).save(palette)
    response = put(f"{url}/datastore/image?image=palette_photo", files={"file": ("p.png", palette.read_bytes())})
    assert response.status_code == 200, response.text
    assert Image.open(studies / "palette_photo.png").mode == "RGB"
    label, _ = client.infer("spine_curve", "palette_photo", {"result_extension": ".nrrd"})
    assert sitk.ReadImage(label).GetSize()[:2] == (width, height)


def test_corrected_label_saved_as_slicer_does(client, server, phantom_dir: Path, datalist: dict) -> None:
    """Slicer saves a one-slice .nii.gz with the segment names in label_info; stored as the 0/1 curve PNG."""
    _, studies, work = server
    entry = datalist["training"][0]
    image_id = Path(entry["image"]).stem
    band = np.asarray(Image.open(phantom_dir / entry["label"]))  # (H, W) 0/1
    corrected = np.where(band > 0, 3, 0).astype(np.uint8)  # Slicer's segment value need not be 1
    corrected[:5, :5] = 1  # another segment, not the spine
    volume = sitk.GetImageFromArray(corrected[None])  # (1, H, W): a one-slice volume, as Slicer writes it
    path = work / "corrected.nii.gz"
    sitk.WriteImage(volume, str(path))
    info = [{"name": "skin marker", "idx": 1}, {"name": "Spine curve", "idx": 3}]
    client.save_label(image_id, str(path), tag="final", params={"label_info": info})
    stored = np.asarray(Image.open(studies / "labels" / "final" / f"{image_id}.png"))
    assert np.array_equal(stored, (band > 0).astype(np.uint8))  # the spine segment, binarised
    ambiguous = work / "ambiguous.nii.gz"
    sitk.WriteImage(sitk.GetImageFromArray(corrected[None]), str(ambiguous))
    response = requests.put(
        f"{server[0]}/datastore/label?image={image_id}&tag=final",
        files={"label": ("ambiguous.nii.gz", ambiguous.read_bytes())},
        data={"params": "{}"},
        timeout=60,
    )
    assert response.status_code == 400 and "name the curve's segment" in response.json()["detail"]


def test_a_short_training_then_infer_gets_the_new_model(client, server, phantom_dir: Path, datalist: dict) -> None:
    """Corrected curves in, one short training run, the better model (by line agreement) swapped in and served
    without a restart."""
    url, studies, work = server
    image_id = Path(datalist["test"][0]["image"]).stem
    before, _ = client.infer("spine_curve", image_id, {"result_extension": ".nrrd"})
    assert sitk.GetArrayFromImage(sitk.ReadImage(before)).sum() == 0  # the served model: background everywhere
    for entry in datalist["training"][1:4] + datalist["test"]:
        client.save_label(Path(entry["image"]).stem, str(phantom_dir / entry["label"]), tag="final")
    served = work / "curve" / "models" / "model.pt"
    old_bytes = served.read_bytes()
    # photos a user put into the studies folder by hand: a palette PNG (converted as read) and a corrupt file,
    # which the scoring after training skips with a warning (it once ended the task in ERROR)
    Image.open(studies / f"{image_id}.png").convert("P", palette=Image.Palette.ADAPTIVE).save(studies / "by_hand.png")
    (studies / "broken_photo.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    deadline = time.monotonic() + 60  # the server's file watcher adds them as studies
    while not {"by_hand", "broken_photo"} <= set(client.datastore()["objects"]):
        assert time.monotonic() < deadline, "the file watcher did not add the photos in 60 s"
        time.sleep(0.5)
    broken = requests.post(f"{url}/infer/spine_curve?image=broken_photo", timeout=60)
    assert broken.status_code == 422 and "cannot be used" in broken.json()["detail"], broken.text
    size = Image.open(studies / f"{image_id}.png").size
    train_and_wait(client, "spine_curve", epochs=30, infer=(image_id, size))
    stats = client.info()["train_stats"]["spine_curve"]
    assert stats["epoch"] == stats["total_epochs"] == 30 and stats["swapped"] is True, stats
    assert stats["metric"] == "line_agreement" and stats["validation_photos"] >= 1 and stats["loss"] > 0
    assert stats["candidate_score"] > stats["served_score"] == 0.0
    assert served.read_bytes() != old_bytes and not list(served.parent.glob(".*"))
    after, params = client.infer("spine_curve", image_id, {"result_extension": ".nrrd"})
    assert sitk.GetArrayFromImage(sitk.ReadImage(after)).sum() > 0  # the new model's answer, no restart
    assert "morphology" in params
    # scored after training: every photo without a final label, the strategy picks the least certain one
    deadline = time.monotonic() + 60  # the server follows the training process's datastore writes (watchdog)
    while True:
        objects = client.datastore()["objects"]
        unlabeled = {k: v["image"]["info"] for k, v in objects.items() if "final" not in v.get("labels", {})}
        readable = {k: info for k, info in unlabeled.items() if k != "broken_photo"}
        if all("curve_flip_uncertainty" in info for info in readable.values()) or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert "curve_flip_uncertainty" not in unlabeled["broken_photo"]  # skipped, the rest scored
    scores = {k: info["curve_flip_uncertainty"] for k, info in readable.items()}
    assert len(scores) >= 5 and all(v >= 0 for v in scores.values()) and len(set(scores.values())) > 1
    assert "by_hand" in scores
    assert client.next_sample("curve_uncertainty", {})["id"] == max(scores, key=scores.get)
    bad = requests.post(f"{url}/train/spine_curve", json={"max_epochs": 1, "bundle_path": "/tmp"}, timeout=30)
    assert bad.status_code == 400 and "bundle_path" in bad.json()["detail"]
    assert requests.post(f"{url}/train/no_such_model", json={}, timeout=30).status_code == 404
    bad = requests.post(f"{url}/scoring/curve_uncertainty", json={"bundle_path": "/tmp"}, timeout=30)
    assert bad.status_code == 400 and "device" in bad.json()["detail"]
    assert requests.post(f"{url}/scoring/", json={}, timeout=30).status_code == 403


def test_depth_ground_truth_as_a_label_tag_trains_back_depth(client, server, phantom_dir: Path, datalist: dict) -> None:
    url, studies, work = server
    photos = len(list(studies.glob("*.png")))
    failed = train_and_wait(client, "back_depth", expect="ERROR")  # no depth ground truth yet: a clear failure
    assert any("at least 2 are needed" in line for line in failed["details"]), failed["details"]
    reason = client.info()["train_stats"]["back_depth"]  # and the reason on Slicer's panel
    assert reason["status"] == "failed" and "at least 2 are needed" in reason["error"], reason
    entries = datalist["training"][:3]
    for entry in entries:
        client.save_label(Path(entry["image"]).stem, str(phantom_dir / entry["depth"]), tag="depth")
    assert sorted(p.name for p in (studies / "labels" / "depth").iterdir()) == sorted(
        f"{Path(e['image']).stem}.png" for e in entries
    )
    assert len(list(studies.glob("*.png"))) == photos  # no depth map became a study
    wrong = work / "wrong_depth.png"
    Image.fromarray(np.full((10, 10), 900, np.uint16)).save(wrong)
    response = requests.put(
        f"{url}/datastore/label?image={Path(entries[0]['image']).stem}&tag=depth",
        files={"label": ("wrong_depth.png", wrong.read_bytes())},
        timeout=60,
    )
    assert response.status_code == 400 and "is 10 x 10 but its photo is" in response.json()["detail"]
    served = work / "depth" / "models" / "model.pt"
    old_bytes = served.read_bytes()
    train_and_wait(client, "back_depth")
    stats = client.info()["train_stats"]["back_depth"]
    assert stats["metric"] == "delta1" and 0 <= stats["candidate_score"] <= 1 and stats["training_photos"] >= 1
    assert stats["swapped"] == (stats["candidate_score"] > stats["served_score"])
    assert (served.read_bytes() != old_bytes) == stats["swapped"]  # replaced only when better


def test_serve_prepares_studies_and_models_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    """``make serve``'s preparation on a tiny budget: studies with depth tags, two briefly trained bundles, the
    command on 127.0.0.1; run again, nothing is trained or imported twice."""
    from monai_gamanet.cli import serve

    monkeypatch.setattr(serve, "BUNDLES", tmp_path / "no_trained_bundles")  # as on a fresh checkout
    args = ["--out", str(tmp_path), "--photos", "10", "--epochs", "1", "--size", "48", "24", "--curve-epochs", "1"]
    args += ["--curve-size", "32", "16", "--no-start", "--port", "8123"]
    assert serve.main(args) == 0
    studies = tmp_path / "studies"
    assert len(list(studies.glob("*.png"))) == 10 and len(list((studies / "labels" / "depth").glob("*.png"))) == 10
    assert not (studies / "labels" / "final").exists()  # curves are for the specialist to draw
    weights = [tmp_path / b / "models" / "model.pt" for b in ("back_depth_estimation", "spine_curve_segmentation")]
    stamps = [w.stat().st_mtime_ns for w in weights]
    out = capsys.readouterr().out
    assert "http://127.0.0.1:8123" in out and "--host 127.0.0.1" in out and '{"spatial_size":[16,32]}' in out
    assert f"--app {tmp_path / 'app'}" in out and (tmp_path / "app" / "main.py").is_file()  # not the checkout's
    assert serve.main(args) == 0  # a second run reuses everything
    assert [w.stat().st_mtime_ns for w in weights] == stamps and len(list(studies.glob("*.png"))) == 10


def test_server_killed_during_label_saves_restarts_with_every_label_whole(
    tmp_path: Path, phantom_dir: Path, datalist: dict
) -> None:
    """SIGKILL (by pid) while a client streams corrected curves (two versions in turn), twice: the server starts
    again each time (MONAI Label's own writes once left an empty index that blocked every start) and every label
    file is one of the versions sent, whole (once an in-flight save truncated an acknowledged one). Then SIGKILL
    during a training run: the same request continues it from its last checkpoint."""
    from monailabel.client import MONAILabelClient

    studies = tmp_path / "studies"
    studies.mkdir()
    versions: dict[str, list[Path]] = {}
    for entry in datalist["training"][:3]:
        shutil.copy(phantom_dir / entry["image"], studies)
        image_id = Path(entry["image"]).stem
        shifted = tmp_path / f"{image_id}_shifted.png"
        Image.fromarray(np.roll(np.asarray(Image.open(phantom_dir / entry["label"])), 3, axis=1)).save(shifted)
        versions[image_id] = [phantom_dir / entry["label"], shifted]
    wanted = {k: [(np.asarray(Image.open(p)) > 0).astype(np.uint8) for p in v] for k, v in versions.items()}
    _bundles(tmp_path)
    for kill in range(2):
        proc, url = start_server(tmp_path, studies)
        try:
            client = MONAILabelClient(url, tmpdir=str(tmp_path / "client"))
            for image_id, (first, _) in versions.items():  # acknowledged before the stream
                client.save_label(image_id, str(first), tag="final")
            stop = threading.Event()

            def stream(client=client, stop=stop) -> None:
                for turn in range(10**6):
                    for image_id, pair in versions.items():
                        if stop.is_set():
                            return
                        try:
                            client.save_label(image_id, str(pair[turn % 2]), tag="final")
                        except Exception:  # noqa: BLE001 (the server is being killed)
                            return

            writer = threading.Thread(target=stream, daemon=True)
            writer.start()
            time.sleep(0.5 + 0.7 * kill)  # saves in flight when the kill comes
            stop_server(proc, signal.SIGKILL)
            stop.set()
            writer.join(timeout=60)
        finally:
            stop_server(proc)
        json.loads((studies / "datastore_v2.json").read_text())  # whole
        for image_id, pair in wanted.items():
            stored = np.asarray(Image.open(studies / "labels" / "final" / f"{image_id}.png"))
            assert any(np.array_equal(stored, v) for v in pair), image_id
    proc, url = start_server(tmp_path, studies)  # and it starts after the last kill, every label listed
    try:
        client = MONAILabelClient(url, tmpdir=str(tmp_path / "client"))
        objects = client.datastore()["objects"]
        assert all("final" in objects[image_id]["labels"] for image_id in versions)
        # a training run killed with the server after its first checkpoint ...
        assert client.train_start("spine_curve", {"max_epochs": 3})
        deadline = time.monotonic() + 300
        runs = tmp_path / "app_model" / "spine_curve"
        while not list(runs.glob("run_*/candidate/models/last.pt")):
            assert time.monotonic() < deadline, "no checkpoint in 5 minutes"
            time.sleep(0.2)
        stop_server(proc, signal.SIGKILL)
    finally:
        stop_server(proc)
    (run,) = runs.glob("run_*")
    proc, url = start_server(tmp_path, studies)
    try:  # ... is continued from it by the same request, and finishes
        client = MONAILabelClient(url, tmpdir=str(tmp_path / "client"))
        train_and_wait(client, "spine_curve", epochs=3)
        stats = client.info()["train_stats"]["spine_curve"]
        assert stats["run"] == str(run) and stats["epoch"] == 3 and (run / "finished").is_file()
        assert "resumed from" in (run / "train.log").read_text()
    finally:
        stop_server(proc)
