# Sourced by vm-enter.sh inside a VM's mount namespace when PCIe devices are passed through to it
# ($VM/passthrough lists them: coral, gpu). The VM gets a /dev of its own, as a guest kernel would
# give it: the basic nodes, then /dev/apex_0 (gasket/apex driver) and /dev/dri (amdgpu).
S=/run/.labdev
mkdir -p "$S" && mount -t tmpfs -o mode=755,nosuid labdev "$S" || return 1
cp -a /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty /dev/ptmx /dev/console \
  /dev/fd /dev/stdin /dev/stdout /dev/stderr "$S/" 2>/dev/null
mkdir -p "$S/pts" "$S/shm"
mount --bind /dev/pts "$S/pts" && mount --bind /dev/shm "$S/shm" || return 1
if grep -qx coral "$VM/passthrough"; then
  mknod -m 660 "$S/apex_0" c 120 0 || return 1
fi
if grep -qx gpu "$VM/passthrough"; then
  mkdir -p "$S/dri" && mknod -m 660 "$S/dri/card0" c 226 0 && mknod -m 666 "$S/dri/renderD128" c 226 128 || return 1
fi
mount --move "$S" /dev
