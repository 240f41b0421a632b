#!/bin/sh
set -e
set -o noglob

# The lab's stand-in for https://get.k3s.io (server installs with systemd only). It prints what the
# real script prints, takes the same environment (INSTALL_K3S_VERSION, INSTALL_K3S_EXEC, K3S_URL,
# K3S_TOKEN, INSTALL_K3S_SKIP_START, INSTALL_K3S_SKIP_ENABLE, INSTALL_K3S_SKIP_DOWNLOAD) and writes
# the same files: the unit, its env file, /usr/local/bin/{k3s,kubectl,crictl,ctr,k3s-killall.sh,
# k3s-uninstall.sh}. Downloads come from the lab's loopback server (@@BASE@@).
#
# Example:
#   curl -sfL @@BASE@@/install.sh | INSTALL_K3S_VERSION=v1.32.5+k3s1 K3S_URL=https://<server>:6443 \
#     K3S_TOKEN=<token> sh -s - server --disable servicelb

GITHUB_URL=@@BASE@@/k3s
LAB_STANDINS=@@STANDINS@@

[ -n "${LAB_DIR}" ] && node "${LAB_STANDINS}/lib/audit.js" install.sh "$@" || true

info() {
    echo '[INFO] ' "$@"
}
warn() {
    echo '[WARN] ' "$@" >&2
}
fatal() {
    echo '[ERROR] ' "$@" >&2
    exit 1
}

# Quote each argument for the unit file, one per line with a trailing backslash (as install.sh does).
quote() {
    for arg in "$@"; do
        printf '%s\n' "$arg" | sed "s/'/'\\\\''/g;1s/^/'/;\$s/\$/'/"
    done
}
quote_indent() {
    printf ' \\\n'
    for arg in "$@"; do
        printf '\t%s \\\n' "$(quote "$arg")"
    done
}

# command -v as on a fresh VM: the lab's stand-ins (and the lab machine's own tools) are not there.
real_command() {
    [ -n "${LAB_DIR}" ] && return 0
    command -v "$1" 2>/dev/null || true
}

setup_env() {
    case "$1" in
        (-*|"")
            if [ -z "${K3S_URL}" ]; then
                CMD_K3S=server
            else
                if [ -z "${K3S_TOKEN}" ] && [ -z "${K3S_TOKEN_FILE}" ]; then
                    fatal "Defaulted k3s exec command to 'agent' because K3S_URL is defined, but K3S_TOKEN or K3S_TOKEN_FILE is not defined."
                fi
                CMD_K3S=agent
            fi
        ;;
        (*)
            CMD_K3S=$1
            shift
        ;;
    esac

    case "${K3S_URL}" in
        ""|https://*) ;;
        *) fatal "Only https:// URLs are supported for K3S_URL (have ${K3S_URL})" ;;
    esac

    if [ -n "${INSTALL_K3S_EXEC}" ] && [ "$CMD_K3S" = server ] && [ $# -eq 0 ]; then
        # shellcheck disable=SC2086
        set -- ${INSTALL_K3S_EXEC}
        [ "$1" = server ] && shift
    fi
    CMD_K3S_EXEC="${CMD_K3S}$(quote_indent "$@")"

    if [ "${CMD_K3S}" != server ]; then
        fatal "the lab models K3s servers only (got '${CMD_K3S}')"
    fi
    SYSTEM_NAME=k3s
    BIN_DIR=${INSTALL_K3S_BIN_DIR:-/usr/local/bin}
    SYSTEMD_DIR=${INSTALL_K3S_SYSTEMD_DIR:-/etc/systemd/system}
    SERVICE_K3S=${SYSTEM_NAME}.service
    UNINSTALL_K3S_SH=${BIN_DIR}/${SYSTEM_NAME}-uninstall.sh
    KILLALL_K3S_SH=${BIN_DIR}/k3s-killall.sh
    FILE_K3S_SERVICE=${SYSTEMD_DIR}/${SERVICE_K3S}
    FILE_K3S_ENV=${SYSTEMD_DIR}/${SERVICE_K3S}.env
    TMP_DIR=$(mktemp -d -t k3s-install.XXXXXXXXXX)
    TMP_HASH=${TMP_DIR}/k3s.hash
    TMP_BIN=${TMP_DIR}/k3s.bin
    trap 'rm -rf "${TMP_DIR}"' EXIT
}

get_release_version() {
    if [ -n "${INSTALL_K3S_VERSION}" ]; then
        VERSION_K3S=${INSTALL_K3S_VERSION}
    else
        info "Finding release for channel stable"
        VERSION_K3S=$(curl -sfL "${GITHUB_URL}/stable")
    fi
    info "Using ${VERSION_K3S} as release"
}

download() {
    set +e
    curl -o "$1" -sfL "$2"
    status=$?
    set -e
    [ $status -eq 0 ] || fatal 'Download failed'
}

download_and_verify() {
    HASH_URL=${GITHUB_URL}/${VERSION_K3S}/sha256sum-amd64.txt
    info "Downloading hash ${HASH_URL}"
    download "${TMP_HASH}" "${HASH_URL}"
    HASH_EXPECTED=$(grep " k3s$" "${TMP_HASH}")
    HASH_EXPECTED=${HASH_EXPECTED%%[[:blank:]]*}

    if [ -x "${BIN_DIR}/k3s" ]; then
        HASH_INSTALLED=$(sha256sum "${BIN_DIR}/k3s")
        HASH_INSTALLED=${HASH_INSTALLED%%[[:blank:]]*}
        if [ "${HASH_EXPECTED}" = "${HASH_INSTALLED}" ]; then
            info 'Skipping binary downloaded, installed k3s matches hash'
            return
        fi
    fi
    BIN_URL=${GITHUB_URL}/${VERSION_K3S}/k3s
    info "Downloading binary ${BIN_URL}"
    download "${TMP_BIN}" "${BIN_URL}"
    info 'Verifying binary download'
    HASH_BIN=$(sha256sum "${TMP_BIN}")
    HASH_BIN=${HASH_BIN%%[[:blank:]]*}
    if [ "${HASH_EXPECTED}" != "${HASH_BIN}" ]; then
        fatal "Download sha256 does not match ${HASH_EXPECTED}, got ${HASH_BIN}"
    fi
    chmod 755 "${TMP_BIN}"
    info "Installing k3s to ${BIN_DIR}/k3s"
    mkdir -p "${BIN_DIR}"
    mv -f "${TMP_BIN}" "${BIN_DIR}/k3s"
}

create_symlinks() {
    for cmd in kubectl crictl ctr; do
        if [ ! -e "${BIN_DIR}/${cmd}" ]; then
            which_cmd=$(real_command "${cmd}")
            if [ -z "${which_cmd}" ]; then
                info "Creating ${BIN_DIR}/${cmd} symlink to k3s"
                ln -sf k3s "${BIN_DIR}/${cmd}"
            else
                info "Skipping ${BIN_DIR}/${cmd} symlink to k3s, command exists in PATH at ${which_cmd}"
            fi
        else
            info "Skipping ${BIN_DIR}/${cmd} symlink to k3s, already exists"
        fi
    done
}

create_killall() {
    info "Creating killall script ${KILLALL_K3S_SH}"
    cat > "${KILLALL_K3S_SH}" << EOF
#!/bin/sh
[ \$(id -u) -eq 0 ] || exec sudo \$0 \$@
[ -n "\${LAB_DIR}" ] && node "${LAB_STANDINS}/lib/audit.js" k3s-killall.sh "\$@" || true

set -x

for service in /etc/systemd/system/k3s*.service; do
    [ -s \$service ] && systemctl stop \$(basename \$service)
done

for service in /etc/init.d/k3s*; do
    [ -x \$service ] && \$service stop
done

rm -rf /run/k3s
rm -rf /run/flannel
EOF
    chmod 755 "${KILLALL_K3S_SH}"
}

create_uninstall() {
    info "Creating uninstall script ${UNINSTALL_K3S_SH}"
    cat > "${UNINSTALL_K3S_SH}" << EOF
#!/bin/sh
[ -n "\${LAB_DIR}" ] && node "${LAB_STANDINS}/lib/audit.js" k3s-uninstall.sh "\$@" || true
set -x
[ \$(id -u) -eq 0 ] || exec sudo --preserve-env=K3S_DATA_DIR \$0 \$@

K3S_DATA_DIR=\${K3S_DATA_DIR:-/var/lib/rancher/k3s}

${KILLALL_K3S_SH}

if command -v systemctl; then
    systemctl disable ${SYSTEM_NAME}
    systemctl reset-failed ${SYSTEM_NAME}
    systemctl daemon-reload
fi
if command -v rc-update; then
    rc-update delete ${SYSTEM_NAME} default
fi

rm -f ${FILE_K3S_SERVICE}
rm -f ${FILE_K3S_ENV}

remove_uninstall() {
    rm -f ${UNINSTALL_K3S_SH}
}
trap remove_uninstall EXIT

if (ls ${SYSTEMD_DIR}/k3s*.service || ls /etc/init.d/k3s*) >/dev/null 2>&1; then
    set +x; echo 'Additional k3s services installed, skipping uninstall of k3s'; set -x
    exit
fi

for cmd in kubectl crictl ctr; do
    if [ -L ${BIN_DIR}/\$cmd ]; then
        rm -f ${BIN_DIR}/\$cmd
    fi
done

rm -rf /etc/rancher/k3s
rm -rf /run/k3s
rm -rf /run/flannel
rm -rf \${K3S_DATA_DIR}
rm -f ${BIN_DIR}/k3s
rm -f ${KILLALL_K3S_SH}
EOF
    chmod 755 "${UNINSTALL_K3S_SH}"
}

create_env_file() {
    info "env: Creating environment file ${FILE_K3S_ENV}"
    mkdir -p "${SYSTEMD_DIR}"
    touch "${FILE_K3S_ENV}"
    chmod 0600 "${FILE_K3S_ENV}"
    sh -c export | while read x v; do echo $v; done | grep -E '^(K3S|CONTAINERD)_' > "${FILE_K3S_ENV}" || true
    sh -c export | while read x v; do echo $v; done | grep -Ei '^(NO|HTTP|HTTPS)_PROXY' >> "${FILE_K3S_ENV}" || true
}

create_systemd_service_file() {
    info "systemd: Creating service file ${FILE_K3S_SERVICE}"
    cat > "${FILE_K3S_SERVICE}" << EOF
[Unit]
Description=Lightweight Kubernetes
Documentation=https://k3s.io
Wants=network-online.target
After=network-online.target

[Install]
WantedBy=multi-user.target

[Service]
Type=notify
EnvironmentFile=-/etc/default/%N
EnvironmentFile=-/etc/sysconfig/%N
EnvironmentFile=-${FILE_K3S_ENV}
KillMode=process
Delegate=yes
User=root
# Having non-zero Limit*s causes performance problems due to accounting overhead
# in the kernel. We recommend using cgroups to do container-local accounting.
LimitNOFILE=1048576
LimitNPROC=infinity
LimitCORE=infinity
TasksMax=infinity
TimeoutStartSec=0
Restart=always
RestartSec=5s
ExecStartPre=-/sbin/modprobe br_netfilter
ExecStartPre=-/sbin/modprobe overlay
ExecStart=${BIN_DIR}/k3s \\
    ${CMD_K3S_EXEC}

EOF
}

systemd_enable() {
    info "systemd: Enabling ${SYSTEM_NAME} unit"
    systemctl enable "${FILE_K3S_SERVICE}" >/dev/null
    systemctl daemon-reload >/dev/null
}

systemd_start() {
    info "systemd: Starting ${SYSTEM_NAME}"
    systemctl restart "${SYSTEM_NAME}"
}

{
    setup_env "$@"
    if [ "${INSTALL_K3S_SKIP_DOWNLOAD}" != true ]; then
        get_release_version
        download_and_verify
        info 'Skipping installation of SELinux RPM'
        create_symlinks
    fi
    create_killall
    create_uninstall
    systemctl disable "${SYSTEM_NAME}" >/dev/null 2>&1 || true
    create_env_file
    create_systemd_service_file
    [ "${INSTALL_K3S_SKIP_ENABLE}" = true ] || systemd_enable
    if [ "${INSTALL_K3S_SKIP_START}" != true ]; then
        systemd_start
    fi
}
