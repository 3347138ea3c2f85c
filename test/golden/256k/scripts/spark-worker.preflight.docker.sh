set -euo pipefail
docker info >/dev/null 2>&1 || { echo 'dgx-spark-vllm: node spark-worker: preflight docker: docker does not answer for this user: install docker and add the user to the docker group' >&2; exit 1; }
grep -q nvidia <<<"$(docker info --format '{{json .Runtimes}}')" || { echo 'dgx-spark-vllm: node spark-worker: preflight docker: the NVIDIA container runtime is not registered with docker: install nvidia-container-toolkit and run nvidia-ctk runtime configure --runtime=docker' >&2; exit 1; }
docker version --format '{{.Server.Version}}'
