#!/usr/bin/python3
"""The structure of an ONNX file written by nnc, without running it: ONNX's own checker
(onnx.checker.check_model with full_check, which also infers every shape), then one line per
fact the tests look at. Needs the onnx package (Debian: python3-onnx).

Usage: /usr/bin/python3 tools/onnx_check.py MODEL.onnx
Prints: ir_version N / opset N / inputs NAME... / outputs NAME... / batch DIM_PARAM /
initializers NAME... / ops OP_TYPE... ; exit status 1 with one line on stderr when the checker
refuses the file."""
import sys

import onnx


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: onnx_check.py MODEL.onnx")
    model = onnx.load(sys.argv[1])
    try:
        onnx.checker.check_model(model, full_check=True)
    except Exception as e:  # the checker's own exception types vary between versions
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        sys.exit(f"onnx_check: {sys.argv[1]}: {first}")
    g = model.graph
    print("ir_version", model.ir_version)
    print("opset", " ".join(f"{o.domain or 'ai.onnx'}:{o.version}" for o in model.opset_import))
    print("inputs", " ".join(i.name for i in g.input))
    print("outputs", " ".join(o.name for o in g.output))
    print("batch", " ".join(v.type.tensor_type.shape.dim[0].dim_param for v in list(g.input) + list(g.output)))
    print("initializers", " ".join(sorted(i.name for i in g.initializer)))
    print("ops", " ".join(sorted({n.op_type for n in g.node})))


if __name__ == "__main__":
    main()
