# bash completion for ecard, ecard-vcard, ecard-ccid-sim and ecard-netfault.
#
# The words come from the programs' own --help, read when a completion is
# asked for, so the completion never disagrees with the program it
# completes: the commands of "ecard --help", the options of "ecard
# COMMAND --help" and of the daemons' --help.

# The options a help text names, once each.
_ecard_help_options()
{
	"$@" --help 2>/dev/null | grep -o -- '--[a-z][a-z0-9-]*' | sort -u
}

_ecard()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
	local prog=${COMP_WORDS[0]} verb= i

	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		--reader | --timeout) ((i++)) ;;
		-*) ;;
		*) verb=${COMP_WORDS[i]}; break ;;
		esac
	done
	case $prev in
	--issuer | --dir)
		COMPREPLY=($(compgen -d -- "$cur"))
		return
		;;
	--merchant)
		COMPREPLY=($(compgen -f -- "$cur"))
		return
		;;
	--reader)
		local IFS=$'\n'
		COMPREPLY=($(compgen -W "$("$prog" readers 2>/dev/null |
			sed -n 's/^\([0-9][0-9]*\) .*/\1/p')" -- "$cur"))
		return
		;;
	esac
	if [[ -z $verb ]]; then
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "$(_ecard_help_options "$prog") -v -V -h" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$("$prog" --help 2>/dev/null |
				sed -n '/^Commands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p')" -- "$cur"))
		fi
		return
	fi
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$(_ecard_help_options "$prog" "$verb")" -- "$cur"))
		return
	fi
	# The sub-commands a command's usage lines show ("ecard gp list").
	local subs
	subs=$("$prog" "$verb" --help 2>/dev/null |
		sed -n "s/^\(usage:\)\{0,1\} *ecard $verb \([a-z][a-z-]*\).*/\2/p" | sort -u)
	if [[ -n $subs && $COMP_CWORD -eq $((i + 1)) ]]; then
		COMPREPLY=($(compgen -W "$subs" -- "$cur"))
		return
	fi
	COMPREPLY=($(compgen -f -- "$cur"))
}

_ecard_daemon()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
	case $prev in
	--image | --control | --socket | --personalize | --port-file)
		COMPREPLY=($(compgen -f -- "$cur"))
		return
		;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$(_ecard_help_options "${COMP_WORDS[0]}")" -- "$cur"))
	elif [[ ${COMP_WORDS[0]##*/} == ecard-vcard || ${COMP_WORDS[0]##*/} == ecard-netfault ]] &&
		[[ $COMP_CWORD -eq 1 ]]; then
		COMPREPLY=($(compgen -W "ctl" -- "$cur"))
	else
		COMPREPLY=($(compgen -f -- "$cur"))
	fi
}

complete -F _ecard ecard
complete -F _ecard_daemon ecard-vcard ecard-ccid-sim ecard-netfault
