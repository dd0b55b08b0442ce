# echo-conformance in a container: for graders on macOS and Windows, and autograder platforms.
# Built from a clone of the repository (the wheel is built from this checkout):
#
#   docker build -t echo-conformance .
#   docker run --rm -v "$PWD:/work" echo-conformance check -- python3 server.py {port}
#
# So run, servers are checked without namespaces of their own (the fallback: the runner says so
# once; fixed-port servers are checked one at a time); the container is their sandbox.  The full
# sandbox, a network, PID and mount namespace per server, needs what it needs outside: root
# (which the container has), CAP_SYS_ADMIN for unshare, setns and mount (Docker's default
# seccomp profile allows those calls only with it), CAP_NET_ADMIN to bring up each server's own
# loopback, and mounts that AppArmor does not deny:
#
#   docker run --rm --cap-add SYS_ADMIN --cap-add NET_ADMIN --security-opt apparmor=unconfined \
#       -v "$PWD:/work" echo-conformance check -- python3 server.py {port}
#
# or --privileged, which also lets it make cgroups (cgroup v1 hosts only).  A server in another
# language needs its toolchain in the image: FROM echo-conformance, then apt-get install it.

FROM python:3.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore
WORKDIR /src
COPY . .
# The wheel, built as a user builds one from a checkout (pip fetches the build backend).
RUN python -m pip wheel --no-deps --wheel-dir /dist .

FROM python:3.11-slim-bookworm
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore PYTHONDONTWRITEBYTECODE=1
COPY --from=build /dist /dist
# Installed as users install it: not editable, its dependencies from the package index.
RUN python -m pip install --no-cache-dir /dist/*.whl && rm -rf /dist
# Root, the image's default user, stays: the sandbox's namespaces need it.
WORKDIR /work
ENTRYPOINT ["echo-conformance"]
CMD ["--help"]
