"""The programs that stand-in packages ship as small shell scripts: enough of systemctl,
useradd, getent, setsebool, bootupctl, alternatives, ... for the upstream manifests'
scriptlets and postprocess scripts to run in the composed tree, doing what the real
programs do to the files (offline, as `systemctl --root` would), and failing loudly on
anything they do not implement."""

from __future__ import annotations

SYSTEMCTL = r"""#!/usr/bin/bash
# systemctl (fedostree stand-in): unit file operations on the tree it runs in, as
# systemd's `systemctl --root` does offline: enable, disable, mask, unmask, preset,
# preset-all, is-enabled; `--user --global` for the user units.
set -euo pipefail
scope=system global=0 verb= units=()
for arg in "$@"; do
  case "$arg" in
    --user) scope=user ;;
    --system) scope=system ;;
    --global) scope=user global=1 ;;
    --no-reload|--quiet|-q|--now|--force|-f|--no-pager|--no-block) ;;
    -*) echo "systemctl (stand-in): unsupported option $arg" >&2; exit 1 ;;
    *) if [ -z "$verb" ]; then verb=$arg; else units+=("$arg"); fi ;;
  esac
done
if [ "$scope" = user ] && [ "$global" = 0 ]; then
  echo "Failed to connect to bus: No medium found" >&2; exit 1
fi
conf=/etc/systemd/$scope lib=/usr/lib/systemd/$scope presets=$scope-preset

unit_path() {
  local dir
  for dir in "$conf" "$lib"; do
    if [ -f "$dir/$1" ] && [ ! -L "$dir/$1" ]; then echo "$dir/$1"; return 0; fi
  done
  return 1
}

install_keys() {  # KEY=VALUE lines of the [Install] section
  local section= line
  while IFS= read -r line || [ -n "$line" ]; do
    case "$line" in
      '['*']') section=$line ;;
      *=*) if [ "$section" = "[Install]" ]; then printf '%s\n' "$line"; fi ;;
    esac
  done <"$1"
}

link() {
  mkdir -p "${2%/*}"
  ln -sfn "$1" "$2"
  echo "Created symlink $2 → $1."
}

instance_name() {  # a template is enabled as its DefaultInstance
  local keys=$2
  case "$1" in
    *@.*) local default; default=$(sed -n 's/^DefaultInstance=//p' <<<"$keys")
          if [ -n "$default" ]; then echo "${1/@./@$default.}"; fi ;;
    *) echo "$1" ;;
  esac
}

enable_unit() {
  local path keys name key value v
  path=$(unit_path "$1") || { echo "Failed to enable unit: Unit file $1 does not exist." >&2; return 1; }
  keys=$(install_keys "$path")
  if [ -z "$keys" ]; then
    echo "The unit files have no installation config (WantedBy=, RequiredBy=, Also=, Alias= settings in the [Install] section): $1" >&2
    return 0
  fi
  name=$(instance_name "$1" "$keys")
  [ -n "$name" ] || return 0
  while IFS='=' read -r key value; do
    for v in $value; do
      case "$key" in
        WantedBy) link "$path" "$conf/$v.wants/$name" ;;
        RequiredBy) link "$path" "$conf/$v.requires/$name" ;;
        Alias) link "$path" "$conf/$v" ;;
        Also) enable_unit "$v" ;;
      esac
    done
  done <<<"$keys"
}

disable_unit() {
  local link_path
  for link_path in "$conf"/*/"$1" "$conf"/*/${1/@./@*.} "$conf/$1"; do
    if [ -L "$link_path" ] && [ "$(readlink "$link_path")" != /dev/null ]; then
      rm -f "$link_path"; echo "Removed \"$link_path\"."
    fi
  done
}

is_masked() { [ "$(readlink "$conf/$1" 2>/dev/null)" = /dev/null ]; }

preset_files() {  # by file name; /etc overrides /usr/lib
  local dir file
  declare -A seen=()
  for dir in /etc/systemd/$presets /usr/lib/systemd/$presets; do
    for file in "$dir"/*.preset; do
      if [ -f "$file" ] && [ -z "${seen[${file##*/}]:-}" ]; then seen[${file##*/}]=$file; fi
    done
  done
  local name
  for name in $(printf '%s\n' "${!seen[@]}" | sort); do echo "${seen[$name]}"; done
}

preset_action() {  # the first matching rule wins; no rule means enable
  local file action pattern rest
  for file in $(preset_files); do
    while read -r action pattern rest || [ -n "$action" ]; do
      case "$action" in enable|disable) ;; *) continue ;; esac
      # shellcheck disable=SC2053
      if [[ $1 == $pattern ]]; then echo "$action"; return; fi
    done <"$file"
  done
  echo enable
}

preset_unit() {
  if is_masked "$1"; then return 0; fi
  local path
  path=$(unit_path "$1") || { echo "Failed to preset unit: Unit file $1 does not exist." >&2; return 1; }
  [ -n "$(install_keys "$path")" ] || return 0
  case "$(preset_action "$1")" in
    enable) enable_unit "$1" ;;
    disable) disable_unit "$1" ;;
  esac
}

all_units() {
  local dir file
  for dir in "$conf" "$lib"; do
    for file in "$dir"/*; do
      if [ -f "$file" ] && [ ! -L "$file" ]; then echo "${file##*/}"; fi
    done
  done | sort -u
}

is_enabled() {
  if is_masked "$1"; then echo masked; return 1; fi
  local path; path=$(unit_path "$1") || { echo "Failed to get unit file state for $1: No such file or directory" >&2; return 1; }
  if [ -z "$(install_keys "$path")" ]; then echo static; return 0; fi
  local link_path
  for link_path in "$conf"/*/"$1"; do
    if [ -L "$link_path" ]; then echo enabled; return 0; fi
  done
  echo disabled; return 1
}

case "$verb" in
  enable|reenable) for u in "${units[@]}"; do enable_unit "$u"; done ;;
  disable) for u in "${units[@]}"; do disable_unit "$u"; done ;;
  mask) for u in "${units[@]}"; do link /dev/null "$conf/$u"; done ;;
  unmask) for u in "${units[@]}"; do if is_masked "$u"; then rm -f "$conf/$u"; fi; done ;;
  preset) for u in "${units[@]}"; do preset_unit "$u"; done ;;
  preset-all) for u in $(all_units); do preset_unit "$u"; done ;;
  is-enabled) rc=0; for u in "${units[@]}"; do is_enabled "$u" || rc=1; done; exit $rc ;;
  daemon-reload|daemon-reexec|try-restart|condrestart|reload-or-restart)
    echo "Running in chroot, ignoring command '$verb'" >&2 ;;
  *) echo "System has not been booted with systemd as init system (PID 1). Can't operate." >&2
     exit 1 ;;
esac
"""

# useradd and groupadd (shadow-utils) share these: entries in /etc, looked up in /etc and,
# as nss-altfiles does, in /usr/lib; system ids are allocated downwards from 999.
SHADOW_COMMON = r"""set -eu
known() {  # known passwd|group NAME
  grep -q "^$2:" "/etc/$1" /usr/lib/"$1" 2>/dev/null
}
id_used() {  # id_used passwd|group ID
  cut -d: -f3 "/etc/$1" /usr/lib/"$1" 2>/dev/null | grep -qx "$2"
}
free_id() {  # the highest free system id of passwd|group
  id=999
  while id_used "$1" "$id"; do id=$((id - 1)); done
  [ "$id" -ge 201 ] || { echo "$0: no free system id left" >&2; exit 4; }
  echo "$id"
}
"""

GROUPADD = (
    "#!/usr/bin/sh\n# groupadd (fedostree stand-in): -r, -g GID, -f.\n"
    + SHADOW_COMMON
    + r"""gid= force=0
while [ $# -gt 1 ]; do
  case "$1" in
    -r|--system) ;;
    -f|--force) force=1 ;;
    -g|--gid) gid=$2; shift ;;
    *) echo "groupadd: unsupported option $1" >&2; exit 2 ;;
  esac
  shift
done
name=$1
if known group "$name"; then
  [ "$force" = 1 ] && exit 0
  echo "groupadd: group '$name' already exists" >&2; exit 9
fi
if [ -n "$gid" ] && id_used group "$gid"; then
  [ "$force" = 1 ] || { echo "groupadd: GID '$gid' already exists" >&2; exit 4; }
  gid=
fi
[ -n "$gid" ] || gid=$(free_id group)
echo "$name:x:$gid:" >>/etc/group
if [ -e /etc/gshadow ]; then echo "$name:!::" >>/etc/gshadow; fi
"""
)

USERADD = (
    "#!/usr/bin/sh\n# useradd (fedostree stand-in): -r, -u, -g, -d, -s, -c, -M, -N, -U.\n"
    + SHADOW_COMMON
    + r"""uid= group= home= shell=/bin/bash comment= own_group=1
while [ $# -gt 1 ]; do
  case "$1" in
    -r|--system|-M|--no-create-home|-U|--user-group) ;;
    -N|--no-user-group) own_group=0 ;;
    -u|--uid) uid=$2; shift ;;
    -g|--gid) group=$2; shift ;;
    -d|--home-dir) home=$2; shift ;;
    -s|--shell) shell=$2; shift ;;
    -c|--comment) comment=$2; shift ;;
    *) echo "useradd: unsupported option $1" >&2; exit 2 ;;
  esac
  shift
done
name=$1
if known passwd "$name"; then echo "useradd: user '$name' already exists" >&2; exit 9; fi
if [ -n "$uid" ] && id_used passwd "$uid"; then
  echo "useradd: UID $uid is not unique" >&2; exit 4
fi
[ -n "$uid" ] || uid=$(free_id passwd)
if [ -z "$group" ] && [ "$own_group" = 1 ]; then
  if id_used group "$uid"; then groupadd -r "$name"; else groupadd -r -g "$uid" "$name"; fi
  group=$name
fi
[ -n "$group" ] || group=100
case "$group" in
  *[!0-9]*) gid=$(grep -h "^$group:" /etc/group /usr/lib/group 2>/dev/null | head -n1 | cut -d: -f3)
            [ -n "$gid" ] || { echo "useradd: group '$group' does not exist" >&2; exit 6; } ;;
  *) gid=$group ;;
esac
echo "$name:x:$uid:$gid:$comment:${home:-/home/$name}:$shell" >>/etc/passwd
if [ -e /etc/shadow ]; then echo "$name:!!:::::::" >>/etc/shadow; fi
"""
)

GETENT = r"""#!/usr/bin/sh
# getent (fedostree stand-in): passwd and group from files, then altfiles (/usr/lib).
set -eu
[ $# -eq 2 ] || { echo "getent (stand-in): usage: getent passwd|group NAME|ID" >&2; exit 1; }
case "$1" in passwd|group) ;; *) echo "Unknown database: $1" >&2; exit 1 ;; esac
case "$2" in
  *[!0-9]*) pattern="^$2:" ;;
  *) pattern="^[^:]*:[^:]*:$2:" ;;
esac
grep -h -m1 "$pattern" "/etc/$1" "/usr/lib/$1" 2>/dev/null | head -n1 | grep . || exit 2
"""

INSTALL = r"""#!/usr/bin/sh
# install (fedostree stand-in for coreutils'): -d DIR..., or SRC DEST; -m MODE, -D.
set -eu
dirs=0 mode= parents=0
while [ $# -gt 0 ]; do
  case "$1" in
    -d|--directory) dirs=1 ;;
    -D) parents=1 ;;
    -m) mode=$2; shift ;;
    -m*) mode=${1#-m} ;;
    -dm*) dirs=1; mode=${1#-dm} ;;
    -p|-v) ;;
    -*) echo "install (stand-in): unsupported option $1" >&2; exit 1 ;;
    *) break ;;
  esac
  shift
done
if [ "$dirs" = 1 ]; then
  for d in "$@"; do mkdir -p "$d"; if [ -n "$mode" ]; then chmod "$mode" "$d"; fi; done
  exit 0
fi
[ $# -eq 2 ] || { echo "install (stand-in): expected SOURCE DEST" >&2; exit 1; }
if [ "$parents" = 1 ]; then mkdir -p "$(dirname "$2")"; fi
dest=$2
if [ -d "$dest" ]; then dest=$dest/$(basename "$1"); fi
cp "$1" "$dest"
chmod "${mode:-0755}" "$dest"
"""

SETSEBOOL = r"""#!/usr/bin/sh
# setsebool (fedostree stand-in): -P writes NAME=VALUE into the policy store's
# booleans.local, as semanage does; -N (no reload) is implied, nothing is loaded here.
set -eu
persistent=0
while [ $# -gt 0 ]; do
  case "$1" in -P) persistent=1 ;; -N|-V) ;; -*) echo "setsebool: unsupported option $1" >&2; exit 1 ;; *) break ;; esac
  shift
done
[ "$persistent" = 1 ] || { echo "setsebool:  SELinux is disabled." >&2; exit 1; }
. /etc/selinux/config
store=/etc/selinux/$SELINUXTYPE/active
[ -d "$store" ] || { echo "Cannot set persistent booleans without managed policy." >&2; exit 1; }
while [ $# -gt 0 ]; do
  case "$1" in
    *=*) name=${1%%=*} value=${1#*=}; shift ;;
    *) [ $# -ge 2 ] || { echo "setsebool: boolean value missing for $1" >&2; exit 1; }
       name=$1 value=$2; shift 2 ;;
  esac
  case "$value" in
    on|1|true) value=1 ;;
    off|0|false) value=0 ;;
    *) echo "setsebool: illegal value $value for boolean $name" >&2; exit 1 ;;
  esac
  touch "$store/booleans.local"
  sed -i "/^$name=/d" "$store/booleans.local"
  echo "$name=$value" >>"$store/booleans.local"
done
"""

SEMODULE = r"""#!/usr/bin/sh
# semodule (fedostree stand-in): -i FILE installs a module into the policy store.
set -eu
. /etc/selinux/config
store=/etc/selinux/$SELINUXTYPE/active/modules/400
[ "${1:-}" = -i ] || { echo "semodule (stand-in): only -i is implemented" >&2; exit 1; }
shift
for file in "$@"; do
  name=$(basename "$file"); name=${name%.*}
  mkdir -p "$store/$name"
  cp "$file" "$store/$name/cil"
done
"""

BOOTUPCTL = r"""#!/usr/bin/sh
# bootupctl (fedostree stand-in): `backend generate-update-metadata` records the EFI
# payload (in /usr/lib/ostree-boot/efi, where rpm-ostree moves /boot, or still in
# /boot/efi) as bootupd's update payload in /usr/lib/bootupd/updates.
set -eu
[ "$*" = "backend generate-update-metadata" ] ||
  { echo "bootupctl (stand-in): only 'backend generate-update-metadata' is implemented" >&2; exit 1; }
efi=
for dir in /usr/lib/ostree-boot/efi /boot/efi; do
  if [ -d "$dir/EFI" ]; then efi=$dir; break; fi
done
[ -n "$efi" ] || { echo "error: No update metadata: no EFI directory in /usr/lib/ostree-boot/efi or /boot/efi" >&2; exit 1; }
updates=/usr/lib/bootupd/updates
mkdir -p "$updates"
rm -rf "$updates/EFI"
cp -a "$efi/EFI" "$updates/EFI"
files=$(cd "$updates" && find EFI -type f | sort | sed 's/.*/"&"/' | paste -sd, -)
printf '{"version":"fedostree stand-in","files":[%s]}\n' "$files" >"$updates/EFI.json"
echo "Generated update layout for EFI"
"""

ALTERNATIVES = r"""#!/usr/bin/sh
# alternatives (fedostree stand-in): --install LINK NAME PATH PRIORITY [--slave LINK
# NAME PATH]...; the highest priority wins, as in chkconfig's alternatives.
set -eu
admin=/var/lib/alternatives
[ "${1:-}" = --install ] || { echo "alternatives (stand-in): only --install is implemented" >&2; exit 2; }
link=$2 name=$3 path=$4 priority=$5
shift 5
mkdir -p /etc/alternatives "$admin"
best=$(sort -rn "$admin/$name" 2>/dev/null | head -n1 | cut -d' ' -f1)
echo "$priority $path" >>"$admin/$name"
if [ -n "$best" ] && [ "$best" -gt "$priority" ]; then exit 0; fi
ln -sfn "$path" "/etc/alternatives/$name"
ln -sfn "/etc/alternatives/$name" "$link"
while [ $# -ge 4 ] && [ "$1" = --slave ]; do
  ln -sfn "$4" "/etc/alternatives/$3"
  ln -sfn "/etc/alternatives/$3" "$2"
  shift 4
done
"""

DRACUT = r"""#!/usr/bin/sh
# dracut (fedostree stand-in): writes a placeholder initramfs to OUTPUT for KVER.
set -eu
positional=
while [ $# -gt 0 ]; do
  case "$1" in
    --kver) kver=$2; shift ;;
    --tmpdir|--add|-a|--install|-I|--omit|-o|--conf|--confdir|--add-drivers|--drivers) shift ;;
    --include) shift 2 ;;
    -*) ;;
    *) positional="$positional $1" ;;
  esac
  shift
done
set -- $positional
output=${1:?dracut (stand-in): no output file}
kver=${2:-${kver:?dracut (stand-in): no kernel version}}
[ -d "/usr/lib/modules/$kver" ] || { echo "dracut: Cannot find module directory /usr/lib/modules/$kver/" >&2; exit 1; }
echo "fedostree stand-in initramfs for $kver" >"$output"
"""

DEPMOD = r"""#!/usr/bin/sh
# depmod (fedostree stand-in): -a [KVER] writes modules.dep for /usr/lib/modules/KVER
# (modules without dependencies), to a new file renamed into place, as kmod's does.
set -eu
[ "${1:-}" = -a ] && shift
kver=${1:-$(uname -r)}
dir=/usr/lib/modules/$kver
[ -d "$dir" ] || { echo "depmod: ERROR: could not open directory $dir: No such file or directory" >&2; exit 1; }
(cd "$dir" && find . -name '*.ko*' | sed 's|^\./||; s|$|:|' | sort) >"$dir/.modules.dep.tmp"
mv "$dir/.modules.dep.tmp" "$dir/modules.dep"
"""

MACHINE_ID_SETUP = r"""#!/usr/bin/sh
# systemd-machine-id-setup (fedostree stand-in): a random machine id, unless one is set.
set -eu
if [ -s /etc/machine-id ]; then exit 0; fi
od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >/etc/machine-id
echo >>/etc/machine-id
echo "Initializing machine ID from random generator."
"""

GLIBC_POST_UPGRADE = r"""#!/usr/bin/sh
# glibc_post_upgrade (fedostree stand-in): glibc's old mid-transaction helper.
exit 0
"""


def command_script(name: str, package: str, version: str) -> str:
    """A program that only says what it stands in for."""
    return f'#!/usr/bin/sh\necho "{name} ({package} {version}, fedostree stand-in)"\n'
