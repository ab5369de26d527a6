# bash completion for vswctl: commands, port kinds and options, and the names of the ports a
# running vswd has (asked over the control socket; nothing when it does not answer).
# Standalone: needs no bash-completion helper functions.

_vswctl_ports() {
	local ctl=()
	[ -n "$1" ] && ctl=(--ctl "$1")
	vswctl "${ctl[@]}" --json port list 2>/dev/null |
		grep -o '"name": *"[^"]*"' | sed 's/.*"\([^"]*\)"$/\1/'
}

_vswctl() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
	local i ctl="" words=()
	# the words after the options: the command so far
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		--ctl) ctl=${COMP_WORDS[i + 1]}; i=$((i + 1)) ;;
		--*) ;;
		*) words+=("${COMP_WORDS[i]}") ;;
		esac
	done
	if [ "$prev" = --ctl ]; then
		COMPREPLY=($(compgen -f -- "$cur"))
		return
	fi
	local list
	case "${words[*]}" in
	"") list="port fdb stats version --ctl --json --help" ;;
	port) list="add del list set" ;;
	fdb) list="show add del flush aging" ;;
	stats) list="clear $(_vswctl_ports "$ctl")" ;;
	"port add "?*) [ ${#words[@]} -eq 3 ] && list="vhost dpdk tap vxlan" || case ${words[3]} in
		vhost) list="path= mode=server mode=client queues= vlan= trunks= native=" ;;
		dpdk) list="dev= vlan= trunks= native=" ;;
		tap) list="ip= vlan= trunks= native=" ;;
		vxlan) list="vni= local= remotes= underlay= dstport= udpcsum= vlan= trunks= native=" ;;
		esac ;;
	"port del" | "port set" | "fdb show" | "fdb flush" | "stats clear") list=$(_vswctl_ports "$ctl") ;;
	"port set "?*) list="drop= vlan= trunks= native=" ;;
	"fdb add "?*) [ ${#words[@]} -eq 3 ] && list=$(_vswctl_ports "$ctl") ;;
	esac
	COMPREPLY=($(compgen -W "$list" -- "$cur"))
	# key= words wait for their value: no space after them
	[ "${#COMPREPLY[@]}" -eq 1 ] && [ "${COMPREPLY[0]: -1}" = "=" ] && compopt -o nospace 2>/dev/null
	return 0
}
complete -F _vswctl vswctl
