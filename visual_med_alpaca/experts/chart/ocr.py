"""The rapidocr engine's speed-ups, each giving rapidocr's own output bit for bit: the detector's input
normalised through a table, its runs flushing denormal floats, the recogniser reading boxes on several threads.
The engines themselves are made and called in reader.py (ChartExpert._engine, ChartExpert._run_ocr)."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from dataclasses import replace
from functools import lru_cache

import numpy as np


def _table_normalised_detection(engine) -> None:
    """rapidocr normalises the detector's enlarged input in float64 (~0.1 s a chart, a tenth of the chart's
    time); its input is uint8, so a 256-entry table built with rapidocr's own expression gives the same float32
    tensor bit for bit (tests/test_experts_chart.py). The only hook is the detector's `get_preprocess`, an
    attribute of rapidocr 3.10's `text_det`: where it is missing nothing changes but the speed."""
    detector = getattr(engine, "text_det", None)
    if detector is None or getattr(detector, "_vmed_table", False) or not hasattr(detector, "get_preprocess"):
        return
    try:
        from rapidocr.ch_ppocr_det.utils import DetPreProcess
    except ImportError:
        return

    class TablePreProcess(DetPreProcess):
        def __call__(self, img: np.ndarray):
            if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
                return super().__call__(img)
            import cv2

            resized = self.resize(img)
            if resized is None:
                return None
            table = self.normalize(np.arange(256, dtype=np.uint8).reshape(256, 1, 1).repeat(3, axis=2)).astype(np.float32)
            return np.ascontiguousarray(cv2.LUT(resized, table).transpose(2, 0, 1)[None])

    detector.get_preprocess = lambda: TablePreProcess(detector.limit_side_len, detector.limit_type, detector.mean, detector.std)
    detector._vmed_table = True


def _session_copy(session, threads: int, flush_denormals: bool = False):
    """A new onnxruntime session of `session`'s model with rapidocr's options (ChartExpert._engine) on `threads`
    intra-op threads; `flush_denormals`: its pool threads treat denormal floats as zero (see
    _denormal_flushing_detection)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 4
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.enable_cpu_mem_arena = True
    options.intra_op_num_threads = threads
    if threads == 1:
        options.inter_op_num_threads = 1
    if flush_denormals:
        options.add_session_config_entry("session.set_denormal_as_zero", "1")
    return ort.InferenceSession(session._model_path, options, providers=session.get_providers())


@contextmanager
def _denormals_flushed_on_this_thread():
    """Inside the block, this thread's SSE arithmetic flushes denormal floats to zero (MXCSR's FTZ and DAZ bits);
    on leaving it, the thread's whole floating-point environment is put back as it was (fegetenv / fesetenv).
    The mode is a per-thread register, so other threads are untouched (tests/test_experts_chart.py). Only on
    x86-64 Linux with glibc (fenv_t: the x87 environment, then MXCSR at byte 28); elsewhere it does nothing."""
    libm = _libm()
    if libm is None:
        yield
        return
    import ctypes

    saved = ctypes.create_string_buffer(32)
    if libm.fegetenv(saved) != 0:
        yield
        return
    flushing = ctypes.create_string_buffer(saved.raw, 32)
    flushing[28:32] = (int.from_bytes(saved.raw[28:32], "little") | 0x8040).to_bytes(4, "little")  # FTZ | DAZ
    libm.fesetenv(flushing)
    try:
        yield
    finally:
        libm.fesetenv(saved)


@lru_cache(maxsize=1)
def _libm():
    import ctypes
    import ctypes.util
    import platform

    if sys.platform != "linux" or platform.machine() != "x86_64" or platform.libc_ver()[0] != "glibc":
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6")
    except OSError:
        return None


class _FlushingRuns:
    """An onnxruntime session whose runs flush denormals on the calling thread too (see
    _denormal_flushing_detection); everything else is the session's own."""

    def __init__(self, session):
        self.session = session

    def __getattr__(self, name: str):
        return getattr(self.session, name)

    def run(self, *args, **kwargs):
        with _denormals_flushed_on_this_thread():
            return self.session.run(*args, **kwargs)


def _denormal_flushing_detection(engine, threads: int) -> None:
    """The detector's session again, with `session.set_denormal_as_zero`: the detection network's activations
    run through denormal floats, which the CPU computes slowly; its pool threads flush them to zero (round 11:
    the same detection maps, np.array_equal, on dev charts, in ~0.6 of the time; tests/test_experts_chart.py).
    onnxruntime sets the calling thread's mode only at the first session the process makes (rapidocr's own,
    made before this one, without the flag), and the calling thread computes its share of every run, so each
    run also flushes on the calling thread, for that run only (_FlushingRuns, round 12): the caller's and the
    rest of the process' arithmetic outside the detector is left as it was. Where rapidocr's structure differs
    (no `text_det.session.session`), nothing changes but the speed."""
    detector = getattr(engine, "text_det", None)
    holder = getattr(detector, "session", None)
    session = getattr(holder, "session", None)
    if session is None or getattr(detector, "_vmed_flush", False) or not hasattr(session, "_model_path"):
        return
    holder.session = _FlushingRuns(_session_copy(session, threads, flush_denormals=True))
    detector._vmed_flush = True


class _RecognitionInParallel:
    """rapidocr's recogniser with its boxes read `threads` at a time, each on one onnxruntime thread.

    A chart's ~30 boxes are read one by one (Rec.rec_batch_num 1, see ChartExpert._engine); a box is a small
    input, so a run on two intra-op threads spends most of the second core waiting and spinning (round 10: 67
    dev boxes took 2.3 CPU-s on one thread, 4.6 on two, for the same output). Here each box is still read alone
    by rapidocr's own recogniser (so each result is the one it gives alone, bit for bit: tests/test_experts_chart.py),
    but the boxes are shared out between threads whose onnxruntime runs (which release the GIL) overlap."""

    def __init__(self, recogniser, threads: int):
        from concurrent.futures import ThreadPoolExecutor

        recogniser.session.session = _session_copy(recogniser.session.session, 1)
        self.recogniser, self.threads = recogniser, threads
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="vmed-chart-rec")

    def __getattr__(self, name: str):
        return getattr(self.recogniser, name)

    def __call__(self, args):
        images = [args.img] if isinstance(args.img, np.ndarray) else list(args.img or [])
        if len(images) < 2 or self.recogniser.rec_batch_num != 1:
            return self.recogniser(args)
        # widest boxes dealt out in turn, so each thread gets about the same work
        order = sorted(range(len(images)), key=lambda i: -images[i].shape[1] / images[i].shape[0])
        shares = [order[k::self.threads] for k in range(self.threads)]
        parts = list(self.pool.map(lambda share: self.recogniser(replace(args, img=[images[i] for i in share])),
                                   [s for s in shares if s]))
        txts, scores, words = [""] * len(images), [0.0] * len(images), [None] * len(images)
        for share, part in zip(shares, parts):
            for n, i in enumerate(share):
                txts[i], scores[i], words[i] = part.txts[n], part.scores[n], part.word_results[n]
        return replace(parts[0], imgs=images, txts=tuple(txts), scores=tuple(scores), word_results=tuple(words),
                       elapse=sum(p.elapse or 0.0 for p in parts))


def _parallel_recognition(engine, threads: int) -> None:
    """Put _RecognitionInParallel in place of the engine's recogniser (made on first use: from the next call on).
    Where rapidocr's structure differs (no `text_rec.session.session`), nothing changes but the speed."""
    recogniser = getattr(engine, "text_rec", None)
    if threads < 2 or recogniser is None or isinstance(recogniser, _RecognitionInParallel):
        return
    session = getattr(getattr(recogniser, "session", None), "session", None)
    if session is None or not hasattr(session, "_model_path") or not hasattr(recogniser, "rec_batch_num"):
        return
    engine.text_rec = _RecognitionInParallel(recogniser, threads)
