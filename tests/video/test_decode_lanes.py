"""The PyAV reader splits a request by keyframe interval over parallel decoders: still the exact frames."""

from __future__ import annotations

import numpy as np
import pytest

from videoespresso_hf.demo.videos import read_stamped_index
from videoespresso_hf.video import VideoReader, uniform_indices


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_parallel_decoders_return_the_exact_frames(stamped_short_gop_video, threads):
    spec = stamped_short_gop_video  # a keyframe every 10 frames: most requests span many intervals
    rng = np.random.default_rng(1)
    requests = [
        uniform_indices(spec.num_frames, 64),  # about one frame per interval
        uniform_indices(spec.num_frames, 16),
        np.sort(rng.choice(spec.num_frames, 40, replace=False)),
        np.array([spec.num_frames - 1, 3, 150, 149, 151, 0, 150]),  # unsorted, repeats, backwards
        np.arange(30, 41),  # dense, across one keyframe
    ]
    with VideoReader(spec.path, threads=threads) as reader:
        for indices in requests:  # several calls on one reader: the decoders are reused
            frames = reader.get_frames(indices)
            assert [read_stamped_index(frame) for frame in frames] == list(indices)


def test_parallel_and_single_decoder_agree_pixel_for_pixel(stamped_video, stamped_short_gop_video):
    for spec in (stamped_video, stamped_short_gop_video):
        indices = uniform_indices(spec.num_frames, 32)
        with VideoReader(spec.path, threads=1) as one, VideoReader(spec.path, threads=2) as two:
            np.testing.assert_array_equal(one.get_frames(indices), two.get_frames(indices))
