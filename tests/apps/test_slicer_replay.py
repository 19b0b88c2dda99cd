"""A specialist's 3D Slicer session replayed against a real server, with Slicer's own MRML classes (``slicer-core``).

Each step does what MONAI Label 0.8.5's Slicer plugin (``plugins/slicer/MONAILabel/MONAILabel.py``) does, through
MONAI Label's own client (the one the plugin ships) and Slicer's own classes: the volume archetype storage node
(``slicer.util.loadVolume`` and ``SampleData``'s loader, without ``singleFile``), the labelmap and segmentation
nodes with the segmentation logic (import as a segment named ``spine``, export, ``.seg.nrrd`` writer), the markups
JSON storage node (``slicer.util.loadMarkups``) and the 5.12 ``sitkUtils.PushVolumeToSlicer`` data path.

``slicer-core``'s ITK has no PNG IO: where Slicer would read a downloaded PNG, the replay writes the same pixels,
as SimpleITK reads the PNG (origin 0, spacing 1, identity direction), to an NRRD of the same file name stem in the
same folder, and loads that; the archetype reader groups files by their names, so what it loads is what Slicer
loads from the PNG.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from urllib.parse import quote_plus

import numpy as np
import pytest
import requests
import SimpleITK as sitk
import slicer
import torch
import vtk
from PIL import Image
from scipy.ndimage import map_coordinates
from vtk.util import numpy_support

from monai_gamanet.io.markups import DEFAULT_DEPTH_RANGE_MM
from monai_gamanet.networks import create_depth_network
from tests.apps.test_spine_curve_app import DEPTH_OVERRIDES, start_server, stop_server
from tests.schemas import validate_markups

N_PHOTOS = 5
# the stand-in network draws a curve on every photo (tests/apps/curve_stand_in.py); no spaces: see DEPTH_OVERRIDES
CURVE_OVERRIDES = '{"spatial_size":[64,128],"network_def":{"_target_":"tests.apps.curve_stand_in.BandCurve"}}'
SHIFT = 3  # pixels the specialist moves the curve to the right


class SlicerSession:
    """One Slicer scene and the plugin's steps on it."""

    def __init__(self, client, cache: Path) -> None:
        self.client, self.cache = client, cache
        self.scene = slicer.vtkMRMLScene()
        self.segmentations = slicer.vtkSlicerSegmentationsModuleLogic()
        self.segmentations.SetMRMLScene(self.scene)  # registers the segmentation nodes and converters

    def _add(self, node):
        self.scene.AddNode(node)
        return node

    def read(self, path: Path, node):
        """Slicer's volume reader (``loadVolume``: archetype storage node, single file off) into ``node``."""
        storage = self._add(slicer.vtkMRMLVolumeArchetypeStorageNode())
        storage.SetFileName(str(path))
        assert storage.ReadData(self._add(node)), f"Slicer could not read {path}"
        node.SetAndObserveStorageNodeID(storage.GetID())
        return node

    def write(self, node, path: Path) -> Path:
        """``slicer.util.saveNode`` of a volume."""
        storage = self._add(slicer.vtkMRMLVolumeArchetypeStorageNode())
        storage.SetFileName(str(path))
        assert storage.WriteData(node), f"Slicer could not write {path}"
        return path

    def as_slicer_reads_png(self, png: Path) -> Path:
        """The PNG's pixels as SimpleITK reads them, in an NRRD of the same stem beside it (see the module doc)."""
        nrrd = png.with_suffix(".nrrd")
        sitk.WriteImage(sitk.ReadImage(str(png)), str(nrrd))
        return nrrd

    def next_sample(self, strategy: str = "first"):
        """ "Next Sample": the plugin's local path when the sample's ``path`` exists, else ``SampleData``'s download
        into the one shared cache folder under the sample's ``name`` (checksum checked), then the volume reader."""
        sample = self.client.next_sample(strategy, {})
        assert sample.get("id"), sample
        if sample.get("path") and Path(sample["path"]).exists():
            local = self.as_slicer_reads_png(Path(sample["path"]))
        else:
            target = self.cache / sample.get("name", sample["id"])
            url = f"{self.client.get_server_url()}/datastore/image?image={quote_plus(sample['id'])}"
            target.write_bytes(requests.get(url, timeout=60).content)
            if sample.get("checksum"):
                algo, digest = sample["checksum"].split(":")
                assert algo == "SHA256" and hashlib.sha256(target.read_bytes()).hexdigest() == digest
            local = self.as_slicer_reads_png(target)
        node = self.read(local, slicer.vtkMRMLVectorVolumeNode())
        node.SetName(sample.get("PatientID", sample.get("name", sample["id"])))
        return sample, node

    def push_volume(self, image: sitk.Image, node):
        """Slicer 5.12's ``sitkUtils.PushVolumeToSlicer`` data path: the pixels, then IJK-to-RAS from a 3 x 3
        direction (``direction[row * 3 + col]``, ``spacing[col]``, ``origin[row]``), LPS flipped to RAS."""
        array = sitk.GetArrayFromImage(image)
        ijk_to_lps = np.eye(4)
        direction, spacing, origin = image.GetDirection(), image.GetSpacing(), image.GetOrigin()
        for row in range(3):
            for col in range(3):
                ijk_to_lps[row, col] = direction[row * 3 + col] * spacing[col]  # IndexError on a 2D image
            ijk_to_lps[row, 3] = origin[row]
        image_data = vtk.vtkImageData()
        image_data.SetDimensions(*image.GetSize())
        image_data.GetPointData().SetScalars(numpy_support.numpy_to_vtk(array.reshape(-1), deep=True))
        self._add(node).SetAndObserveImageData(image_data)
        node.SetIJKToRASMatrix(_vtk_matrix(np.diag([-1.0, -1.0, 1.0, 1.0]) @ ijk_to_lps))
        return node

    def import_label(self, labelmap, reference) -> object:
        """The plugin's ``updateSegmentationMask``: the labelmap imported into a segmentation as segment ``spine``."""
        segmentation = self._add(slicer.vtkMRMLSegmentationNode())
        segmentation.SetReferenceImageGeometryParameterFromVolumeNode(reference)
        ids = vtk.vtkStringArray()
        ids.InsertNextValue("spine")
        assert self.segmentations.ImportLabelmapToSegmentationNode(labelmap, segmentation, ids)
        return segmentation

    def segment_array(self, segmentation, reference) -> np.ndarray:
        """The ``spine`` segment on the photo's grid, (H, W) 0/1, as ``ExportSegmentsToLabelmapNode`` gives it."""
        return _pixels(self.export(segmentation, reference))[0]

    def set_segment(self, segmentation, reference, mask_hw: np.ndarray) -> None:
        """A painted edit: the ``spine`` segment replaced by ``mask_hw`` (what the Segment Editor's brush leaves)."""
        labelmap = self.export(segmentation, reference)
        labelmap.GetImageData().GetPointData().SetScalars(
            numpy_support.numpy_to_vtk(mask_hw.astype(np.uint8).reshape(-1), deep=True)
        )
        labelmap.Modified()
        segmentation.GetSegmentation().RemoveAllSegments()
        ids = vtk.vtkStringArray()
        ids.InsertNextValue("spine")
        assert self.segmentations.ImportLabelmapToSegmentationNode(labelmap, segmentation, ids)

    def export(self, segmentation, reference):
        """``ExportSegmentsToLabelmapNode`` of every segment on the photo's geometry, as "Submit Label" does."""
        labelmap = self._add(slicer.vtkMRMLLabelMapVolumeNode())
        ids = vtk.vtkStringArray()
        seg = segmentation.GetSegmentation()
        for i in range(seg.GetNumberOfSegments()):
            ids.InsertNextValue(seg.GetNthSegmentID(i))
        assert self.segmentations.ExportSegmentsToLabelmapNode(segmentation, ids, labelmap, reference)
        return labelmap

    def save_segmentation(self, segmentation, path: Path) -> Path:
        """``saveNode`` of the segmentation itself (the plugin's ``.seg.nrrd`` setting)."""
        storage = self._add(slicer.vtkMRMLSegmentationStorageNode())
        storage.SetFileName(str(path))
        assert storage.WriteData(segmentation)
        return path

    def load_markups(self, path: Path):
        """``slicer.util.loadMarkups``: Slicer's markups JSON reader into a curve node."""
        node = self._add(slicer.vtkMRMLMarkupsCurveNode())
        storage = self._add(slicer.vtkMRMLMarkupsJsonStorageNode())
        storage.SetFileName(str(path))
        assert storage.ReadData(node), f"Slicer could not read {path}"
        return node


def _vtk_matrix(m: np.ndarray) -> vtk.vtkMatrix4x4:
    out = vtk.vtkMatrix4x4()
    for i in range(4):
        for j in range(4):
            out.SetElement(i, j, float(m[i, j]))
    return out


def _matrix(node, ras_to_ijk: bool = False) -> np.ndarray:
    m = vtk.vtkMatrix4x4()
    (node.GetRASToIJKMatrix if ras_to_ijk else node.GetIJKToRASMatrix)(m)
    return np.array([[m.GetElement(i, j) for j in range(4)] for i in range(4)])


def _size(node) -> tuple[int, int, int]:
    return node.GetImageData().GetDimensions()


def _pixels(node) -> np.ndarray:
    """A volume node's voxels as (slices, rows, columns[, components])."""
    data = node.GetImageData()
    array = numpy_support.vtk_to_numpy(data.GetPointData().GetScalars())
    w, h, d = data.GetDimensions()
    components = data.GetNumberOfScalarComponents()
    return array.reshape((d, h, w, components) if components > 1 else (d, h, w))


@pytest.fixture(scope="module")
def replay(tmp_path_factory: pytest.TempPathFactory, phantom_dir: Path, datalist: dict):
    """A server with N_PHOTOS numbered phantom photos, a random GAMA-Net and the band-drawing curve network."""
    from monailabel.client import MONAILabelClient

    work = tmp_path_factory.mktemp("slicer_replay")
    studies = work / "studies"
    studies.mkdir()
    photos = sorted(phantom_dir / e["image"] for split in datalist.values() for e in split)[:N_PHOTOS]
    for photo in photos:
        shutil.copy(photo, studies)
    assert [p.stem for p in photos] == [f"case_{i:04d}" for i in range(N_PHOTOS)]  # a numeric series on disk
    torch.manual_seed(0)
    (work / "depth" / "models").mkdir(parents=True)
    (work / "curve" / "models").mkdir(parents=True)
    torch.save(create_depth_network("gamanet").state_dict(), work / "depth" / "models" / "model.pt")
    torch.save({}, work / "curve" / "models" / "model.pt")  # the stand-in has no weights
    proc, url = start_server(work, studies, curve_overrides=CURVE_OVERRIDES, depth_overrides=DEPTH_OVERRIDES)
    try:
        client = MONAILabelClient(url, tmpdir=str(work / "client"))
        cache = work / "slicer_cache"  # SampleData's one download folder
        cache.mkdir()
        yield SlicerSession(client, cache), studies, work
    finally:
        stop_server(proc)


def test_slicer_loads_a_numbered_series_as_one_volume(tmp_path: Path, replay) -> None:
    """The control: Slicer's reader does stack files named as the studies folder names its photos (so the next
    test would catch the break if the app served such names again)."""
    session, studies, _ = replay
    for photo in sorted(studies.glob("case_*.png")):
        shutil.copy(photo, tmp_path / photo.name)
    stacked = session.read(session.as_slicer_reads_png(tmp_path / "case_0000.png"), slicer.vtkMRMLVectorVolumeNode())
    assert _size(stacked)[2] == 1  # the NRRD beside no other NRRD: one slice
    for photo in sorted(tmp_path.glob("case_*.png")):
        session.as_slicer_reads_png(photo)
    stacked = session.read(tmp_path / "case_0003.nrrd", slicer.vtkMRMLVectorVolumeNode())
    assert _size(stacked)[2] == N_PHOTOS  # case_0003 beside case_0000..0004: all of them, one volume
    flat = sitk.Image([240, 480], sitk.sitkUInt8)  # the 2D result MONAI Label's writer makes
    with pytest.raises(IndexError):  # Slicer 5.12's import of it
        session.push_volume(flat, slicer.vtkMRMLLabelMapVolumeNode())


def test_specialist_session_loads_runs_edits_and_submits(replay) -> None:
    """Next Sample -> Run (label, both import paths) -> segment 'spine' -> edit -> Submit (.nii.gz, then .seg.nrrd)
    -> the stored label is the edit, pixel for pixel; then the markups model's curves lie on the photo and back."""
    session, studies, work = replay
    client = session.client
    for round_, submit_as in enumerate((".nii.gz", ".seg.nrrd")):
        sample, photo_node = session.next_sample("first")  # first unlabelled: the loop moves on as labels arrive
        image_id = sample["id"]
        assert image_id == f"case_{round_:04d}" and photo_node.GetName() == image_id
        photo = np.asarray(Image.open(studies / f"{image_id}.png").convert("RGB"))
        assert _size(photo_node) == (photo.shape[1], photo.shape[0], 1)  # this photo alone, not a stack
        np.testing.assert_array_equal(_pixels(photo_node)[0], photo)
        assert np.allclose(_matrix(photo_node), np.diag([-1.0, -1.0, 1.0, 1.0]))  # origin 0, spacing 1

        result, params = client.infer("spine_curve", image_id, {"result_extension": ".nrrd"})  # as the plugin asks
        assert params["morphology"]["curve_found"], params
        by_file = session.read(Path(result), slicer.vtkMRMLLabelMapVolumeNode())  # Slicer <= 5.10's path
        by_push = session.push_volume(sitk.ReadImage(result), slicer.vtkMRMLLabelMapVolumeNode())  # 5.12's
        for labelmap in (by_file, by_push):
            assert _size(labelmap) == _size(photo_node)
            np.testing.assert_allclose(_matrix(labelmap), _matrix(photo_node))  # lies on the photo
        predicted = _pixels(by_file)[0]
        np.testing.assert_array_equal(_pixels(by_push)[0], predicted)
        assert set(np.unique(predicted)) == {0, 1} and predicted.sum() > 100

        segmentation = session.import_label(by_push, photo_node)
        assert segmentation.GetSegmentation().GetNthSegment(0).GetName() == "spine"
        np.testing.assert_array_equal(session.segment_array(segmentation, photo_node), predicted)
        edited = np.roll(predicted, SHIFT, axis=1)  # the specialist drags the curve SHIFT pixels to the right
        session.set_segment(segmentation, photo_node, edited)
        labelmap = session.export(segmentation, photo_node)
        out = work / "client" / f"label_{round_}{submit_as}"
        if submit_as == ".seg.nrrd":
            session.save_segmentation(segmentation, out)
        else:
            session.write(labelmap, out)
        client.save_label(image_id, str(out), params={"label_info": [{"name": "spine", "idx": 1}]})
        stored = np.asarray(Image.open(studies / "labels" / "final" / f"{image_id}.png"))
        np.testing.assert_array_equal(stored, edited)

    # the markups model, listed for Slicer's panel; its .json result is loaded with loadMarkups
    info = client.info()
    assert info["models"]["spine_curve_markups"]["type"] == "segmentation"
    sample, photo_node = session.next_sample("first")
    image_id = sample["id"]
    label, _ = client.infer("spine_curve", image_id, {"result_extension": ".nrrd"})
    band = sitk.GetArrayFromImage(sitk.ReadImage(label))[0]
    depth, _ = client.infer("back_depth", image_id, {})
    depth = sitk.GetArrayFromImage(sitk.ReadImage(depth))[0]  # (H, W) relative depth
    ras_to_ijk = _matrix(photo_node, ras_to_ijk=True)
    for surface in (False, True):
        path, report = client.infer("spine_curve_markups", image_id, {"surface": surface})
        markups = Path(path).rename(Path(path).parent / f"curve_{'3d' if surface else 'flat'}.mrk.json")
        validate_markups(markups)  # Slicer's schema v1.0.3
        curve = session.load_markups(markups)
        assert curve.GetNumberOfControlPoints() == 18
        assert curve.GetNthControlPointLabel(0) == "C7" and curve.GetNthControlPointLabel(17) == "L5"
        ijk = []
        for i in range(curve.GetNumberOfControlPoints()):
            ras = [0.0, 0.0, 0.0]
            curve.GetNthControlPointPosition(i, ras)
            ijk.append((ras_to_ijk @ [*ras, 1.0])[:3])
        ijk = np.array(ijk)
        w, h, _ = _size(photo_node)
        assert (ijk[:, 0] >= 0).all() and (ijk[:, 0] < w).all() and (ijk[:, 1] >= 0).all() and (ijk[:, 1] < h).all()
        columns, rows = np.round(ijk[:, 0]).astype(int), np.round(ijk[:, 1]).astype(int)
        assert band[rows, columns].all(), "every level lies on the predicted curve of that photo"
        if surface:  # on the back: z is the estimated depth there x the depth range, in the photo's pixels
            expected = map_coordinates(depth, [ijk[:, 1], ijk[:, 0]], order=1) * DEFAULT_DEPTH_RANGE_MM
            np.testing.assert_allclose(ijk[:, 2], expected, atol=0.05)
            assert ijk[:, 2].max() > 0
        else:
            np.testing.assert_allclose(ijk[:, 2], 0.0, atol=1e-6)  # on the photo
        shown = {
            curve.GetNthMeasurement(i).GetName(): curve.GetNthMeasurement(i)
            for i in range(curve.GetNumberOfMeasurements())
        }
        major = shown["major Cobb angle"]
        assert major.GetValue() == pytest.approx(report["morphology"]["major_cobb_deg"], abs=1e-3)
        assert major.GetUnits() == "deg" and report["morphology"]["severity"] in major.GetDescription()


def test_a_photo_opened_in_slicer_is_run_and_becomes_a_datastore_photo(tmp_path: Path, replay) -> None:
    """File -> Add Data of the specialist's own photo: "Run" sends it as a session (PUT /session/, a .nii.gz
    volume), "Submit Label" uploads it under the volume's name (with a space) and saves the label."""
    session, studies, work = replay
    client = session.client
    own = np.asarray(Image.open(studies / "case_0004.png").convert("RGB"))[:, ::-1].copy()  # another back: mirrored
    source = tmp_path / "My back.png"
    Image.fromarray(own).save(source)
    node = session.read(session.as_slicer_reads_png(source), slicer.vtkMRMLVectorVolumeNode())
    node.SetName("My back")  # Slicer names a volume after its file
    volume = session.write(node, tmp_path / "upload.nii.gz")  # the plugin's tempfile with its file extension

    created = client.create_session(str(volume))  # "Run" on a session sample
    assert client.get_session(created["session_id"])
    result, params = client.infer(
        "spine_curve", node.GetName(), {"result_extension": ".nrrd"}, session_id=created["session_id"]
    )
    labelmap = session.read(Path(result), slicer.vtkMRMLLabelMapVolumeNode())
    assert _size(labelmap) == _size(node) and params["morphology"]["curve_found"]
    assert "My back" not in client.datastore()["objects"]  # a session is not yet a datastore photo

    before = {p.name for p in studies.glob("*.png")}
    for _ in range(2):  # "Submit Label" uploads the session's photo before each label: the second changes nothing
        client.upload_image(str(volume), node.GetName())
        segmentation = session.import_label(labelmap, node)
        client.save_label(
            node.GetName(),
            str(session.write(session.export(segmentation, node), tmp_path / "l.nii.gz")),
            params={"label_info": [{"name": "spine", "idx": 1}]},
        )
    assert {p.name for p in studies.glob("*.png")} - before == {"My back.png"}
    np.testing.assert_array_equal(np.asarray(Image.open(studies / "My back.png")), own)
    np.testing.assert_array_equal(np.asarray(Image.open(studies / "labels/final/My back.png")), _pixels(labelmap)[0])
    assert "final" in client.datastore()["objects"]["My back"]["labels"]

    # another photo under the same volume name is refused, and nothing changes
    objects = client.datastore()["objects"]
    other = tmp_path / "other.nii.gz"
    sitk.WriteImage(sitk.GetImageFromArray(own[::-1].copy()[None], isVector=True), str(other))
    response = requests.put(
        f"{client.get_server_url()}/datastore/image?image={quote_plus('My back')}",
        files={"file": ("other.nii.gz", other.read_bytes())},
        timeout=60,
    )
    assert response.status_code == 409 and "different photo" in response.json()["detail"]
    np.testing.assert_array_equal(np.asarray(Image.open(studies / "My back.png")), own)
    # a volume that is not a photo (a 3-slice grey volume) is refused with the reason
    grey = tmp_path / "scan.nii.gz"
    sitk.WriteImage(sitk.GetImageFromArray(np.zeros((3, 64, 64), np.uint8)), str(grey))
    response = requests.put(
        f"{client.get_server_url()}/session/", files={"files": ("scan.nii.gz", grey.read_bytes())}, timeout=60
    )
    assert response.status_code == 400 and "3 slices" in response.json()["detail"]
    assert client.datastore()["objects"] == objects
