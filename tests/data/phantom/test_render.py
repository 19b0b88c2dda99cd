"""The phantom's imaging: normals of the height field, smooth noise, the photo's light and the Kinect-like depth
map (millimetres, background and grazing surfaces unmeasured)."""

from __future__ import annotations

import numpy as np

from monai_gamanet.data.phantom.render import (
    LIGHT_AZIMUTH_DEG,
    LIGHT_OFF_AXIS_DEG,
    render_depth,
    render_photo,
    smooth_noise,
    surface_normals,
)


def test_light_comes_from_the_camera_side_and_above(curve_docs: list[dict]) -> None:
    """A clinic lights the back from the camera's half-space and from above, never from behind or below."""
    photos = [d["generator"]["photo"] for d in curve_docs]
    assert all(LIGHT_AZIMUTH_DEG[0] <= p["light_azimuth_deg"] <= LIGHT_AZIMUTH_DEG[1] for p in photos)
    assert all(LIGHT_OFF_AXIS_DEG[0] <= p["light_off_axis_deg"] <= LIGHT_OFF_AXIS_DEG[1] for p in photos)
    assert np.std([p["light_azimuth_deg"] for p in photos]) > 10  # the variety is kept
    # a slope that faces up (normal towards the top rows) is lit more than one that faces down
    body = np.full((40, 40), 10.0, np.float32)
    normals = np.zeros((40, 40, 3), np.float32)
    normals[:, :20] = (0.0, -0.5, 0.866)  # facing up
    normals[:, 20:] = (0.0, 0.5, 0.866)  # facing down
    for seed in range(5):
        photo, _ = render_photo(np.random.default_rng(seed), normals, body, 2.0)
        assert photo[:, :20].mean() > photo[:, 20:].mean()


def test_normals_of_a_sloping_plane() -> None:
    cols = np.arange(20, dtype=np.float32)[None, :].repeat(10, 0)
    h = 0.5 * cols * 2.0  # rises 0.5 mm per mm to the right, pixels of 2 mm
    normals = surface_normals(h, 2.0)
    assert normals.shape == (10, 20, 3)
    np.testing.assert_allclose(normals, np.broadcast_to([-0.5, 0.0, 1.0] / np.sqrt(1.25), normals.shape), atol=1e-6)
    flat = surface_normals(np.zeros((4, 4)), 1.0)
    np.testing.assert_array_equal(flat, np.broadcast_to([0.0, 0.0, 1.0], flat.shape))


def test_smooth_noise_is_reproducible_smooth_and_of_the_asked_shape() -> None:
    a = smooth_noise(np.random.default_rng(3), (64, 32), 4)
    b = smooth_noise(np.random.default_rng(3), (64, 32), 4)
    assert a.shape == (64, 32) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    assert np.abs(np.diff(a, axis=0)).mean() < 0.2 * a.std()  # neighbours alike: a few coarse cells, upsampled


def test_photo_is_an_rgb_picture_of_the_drawn_light() -> None:
    body = np.full((48, 32), -5.0, np.float32)
    body[:, 8:24] = 5.0
    normals = np.broadcast_to(np.float32([0.0, 0.0, 1.0]), (48, 32, 3))
    photo, params = render_photo(np.random.default_rng(1), normals, body, 2.0)
    again, _ = render_photo(np.random.default_rng(1), normals, body, 2.0)
    assert photo.shape == (48, 32, 3) and photo.dtype == np.uint8
    np.testing.assert_array_equal(photo, again)
    assert {"light_azimuth_deg", "light_off_axis_deg", "camera_noise", "skin_tone_index"} <= set(params)
    assert LIGHT_OFF_AXIS_DEG[0] <= params["light_off_axis_deg"] <= LIGHT_OFF_AXIS_DEG[1]


def test_depth_is_millimetres_on_the_body_and_unmeasured_behind_it_and_where_it_turns_away() -> None:
    shape = (96, 96)
    h = np.full(shape, 50.0, np.float32)  # the back 50 mm in front of the coronal plane
    body = np.where(np.arange(96)[None, :] < 48, 30.0, -30.0).astype(np.float32).repeat(96, 0)  # left half
    facing = np.broadcast_to(np.float32([0.0, 0.0, 1.0]), shape + (3,))
    depth, params = render_depth(np.random.default_rng(0), h, facing, body, 1000.0)
    assert depth.dtype == np.uint16 and depth.shape == shape
    assert not depth[:, 48:].any()  # the background is segmented away
    measured = depth[:, :48][depth[:, :48] > 0].astype(float)
    assert measured.size > 0.7 * 96 * 48  # a few holes and dropped pixels only
    assert abs(np.median(measured) - 950.0) < 3.0 and np.abs(measured - 950.0).max() < 30.0
    assert {"grazing_cutoff_deg", "blobs", "speckle"} == set(params)
    grazing = np.broadcast_to(np.float32([0.0, 0.995, 0.1]), shape + (3,))  # 84 degrees off the camera axis
    assert not render_depth(np.random.default_rng(0), h, grazing, body, 1000.0)[0].any()
