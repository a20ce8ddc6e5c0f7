#!/usr/bin/env bash
# Create the compose stack's secrets once, before the first `docker compose up`; never commit them.
#   master_keys.json  the payload key ring (AES-256-GCM keys, EDI_MASTER_KEYS_FILE)
#   sim_host_key      the payer simulator's SSH host key (edi payer-sim --sftp-host-key)
#   sim_known_hosts   that key as the workers' known_hosts for payer-sim:2222, so the SFTP
#                     transport verifies the host it uploads claims to instead of trusting any
# Existing files are kept (re-running never rotates a key); the known_hosts line is rewritten
# from the host key each time. Usage: docker/init-secrets.sh [DIRECTORY] (default docker/secrets)
set -euo pipefail
dir="${1:-$(dirname "$0")/secrets}"
mkdir -p "$dir"
umask 077
if [ ! -f "$dir/master_keys.json" ]; then
    python3 -c 'import base64, json, os; print(json.dumps({"keys": {"k1": base64.b64encode(os.urandom(32)).decode()}, "current": "k1"}))' \
        > "$dir/master_keys.json"
fi
if [ ! -f "$dir/sim_host_key" ]; then
    ssh-keygen -q -t ed25519 -N '' -C payer-sim -f "$dir/sim_host_key"
fi
printf '[payer-sim]:2222 %s\n' "$(ssh-keygen -y -f "$dir/sim_host_key" | cut -d' ' -f1,2)" > "$dir/sim_known_hosts"
echo "secrets in $dir: master_keys.json sim_host_key sim_known_hosts"
