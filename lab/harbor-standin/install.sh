#!/bin/bash
# The berth lab's STAND-IN installer: install.sh's steps as the real one takes
# them, unconditional `down -v` included (which is why harbor-node runs the
# steps itself, each only when needed).
set -e
DIR="$(cd "$(dirname "$0")" && pwd)"
cd "$DIR"
source "$DIR/common.sh"
docker load -i ./harbor*.tar.gz
./prepare "$@"
$DOCKER_COMPOSE down -v
$DOCKER_COMPOSE up -d
echo "----Harbor has been installed and started successfully.----"
