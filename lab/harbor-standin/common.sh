#!/bin/bash
# The berth lab's STAND-IN installer: the compose command, as the real common.sh picks it.
if docker compose version >/dev/null 2>&1; then
    DOCKER_COMPOSE="docker compose"
else
    DOCKER_COMPOSE=docker-compose
fi
