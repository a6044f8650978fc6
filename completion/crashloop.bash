# bash completion for crashloop: its commands and options (from its own --help), driver
# names (and the installed supervisors' exec files), cause ids and Restart= values (from
# `crashloop list`, so never a copy of the table).
_crashloop_words() { # the option names a --help shows
    "$1" "${@:2}" --help 2>/dev/null | grep -oE '(^|[ ,])--?[a-zA-Z][a-zA-Z-]*' | tr -d ' ,' | sort -u
}

_crashloop() {
    local cur prev crashloop=${COMP_WORDS[0]} command="" i
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=${COMP_WORDS[COMP_CWORD - 1]}
    for ((i = 1; i < COMP_CWORD; i++)); do
        case ${COMP_WORDS[i]} in
        matrix | compare | check | soak | list | cell) command=${COMP_WORDS[i]}; break ;;
        esac
    done
    case $prev in
    --supervisor)
        local scenarios exec_files=""
        scenarios=$(dirname "$(command -v "$crashloop" 2>/dev/null || echo "$crashloop")")/../share/crashloop/scenarios
        [ -d "$scenarios/supervisors" ] &&
            exec_files=$(printf 'exec:%s ' "$scenarios"/supervisors/*.toml)
        COMPREPLY=($(compgen -W "systemd systemd-host supervisord systemctl: exec: $exec_files" -- "$cur"))
        compopt -o nospace 2>/dev/null
        return ;;
    --restart)
        local values
        values=$("$crashloop" list --cause exit-0 2>/dev/null | cut -d/ -f1)
        COMPREPLY=($(compgen -W "all $values" -- "${cur##*,}"))
        [ "${cur%,*}" != "$cur" ] && COMPREPLY=("${COMPREPLY[@]/#/${cur%,*},}")
        return ;;
    --cause)
        local ids
        ids=$("$crashloop" list --restart no 2>/dev/null | cut -f1 | cut -d/ -f2)
        COMPREPLY=($(compgen -W "all table modifier story $ids" -- "${cur##*,}"))
        [ "${cur%,*}" != "$cur" ] && COMPREPLY=("${COMPREPLY[@]/#/${cur%,*},}")
        return ;;
    --format) COMPREPLY=($(compgen -W "table json junit markdown" -- "$cur")); return ;;
    -o | --output | --report | --scenarios | --libexec | --unit | --dropin | --keep-cores | --core-dir)
        COMPREPLY=($(compgen -f -- "$cur")); return ;;
    esac
    if [ -z "$command" ]; then
        COMPREPLY=($(compgen -W "matrix compare check soak list cell $(_crashloop_words "$crashloop")" -- "$cur"))
    else
        COMPREPLY=($(compgen -W "$(_crashloop_words "$crashloop" "$command")" -- "$cur"))
    fi
}
complete -F _crashloop crashloop
