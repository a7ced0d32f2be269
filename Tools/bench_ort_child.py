"""Peak RSS of one ONNX Runtime configuration, for Tools/bench_engine.py: loads MODEL.onnx into a
1-thread session, runs 10 inferences on zeros and prints `maxrss_kib=KIB` (VmHWM). Without a
model it prints the floor every row carries: Python, numpy and onnxruntime imported. Kept apart
from bench_engine.py so that torch is not in the process.

    python Tools/bench_ort_child.py [MODEL.onnx]
"""

import sys

import numpy as np
import onnxruntime as ort


def main() -> None:
    if len(sys.argv) > 1:
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        session = ort.InferenceSession(sys.argv[1], options, providers=["CPUExecutionProvider"])
        spec = session.get_inputs()[0]
        feed = {spec.name: np.zeros(spec.shape, dtype=np.float32)}
        for _ in range(10):
            session.run(None, feed)
    with open("/proc/self/status") as status:
        peak = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    print(f"maxrss_kib={peak}")


if __name__ == "__main__":
    main()
