# fish completion for swiftd(1): commands, options, option values, and service
# names from the config dir (NAME.conf) and the run dir (NAME.pid, NAME.state),
# as the bash completion does. Installed as swiftd.fish in a directory of
# $fish_complete_path (vendor_completions.d).

set -l commands start stop restart status reload signal reopen list logs run check forget help
# Keep in step with `swiftd help start` (a test compares them).
set -l start_value_options chdir umask user group env log log-max-size log-keep restart restart-delay restart-max-delay start-limit restart-exit-code ready min-uptime ready-timeout pidfile watchdog stop-signal stop-timeout kill-mode reload-signal watch watch-action listen restart-mode settle busy-exit-code nice env-file limit chroot iosched cpusched oom-score-adjust
set -l start_flags shell clear-env log-timestamps no-supervise
set -l signals TERM HUP INT QUIT KILL USR1 USR2 ALRM CONT STOP TSTP WINCH PWR

# The value of option --$argv[1] on the line (the last one wins).
function __swiftd_option_value
    set -l words (commandline -opc)
    set -l value
    for i in (seq 2 (count $words))
        test "$words[$i]" = -- ; and break
        if test "$words[$i]" = "--$argv[1]"
            set -l next (math $i + 1)
            set value $words[$next]
        else if string match -q -- "--$argv[1]=*" $words[$i]
            set value (string replace -- "--$argv[1]=" "" $words[$i])
        end
    end
    printf '%s' "$value"
end

# The services swiftd knows of.
function __swiftd_services
    set -l config (__swiftd_option_value config-dir)
    set -l run (__swiftd_option_value run-dir)
    if test (id -u) -eq 0
        test -n "$config"; or set config (set -q SWIFTD_CONFIG_DIR; and echo $SWIFTD_CONFIG_DIR; or echo /etc/swiftd)
        test -n "$run"; or set run (set -q SWIFTD_RUN_DIR; and echo $SWIFTD_RUN_DIR; or echo /run/swiftd)
    else
        set -l home_config (set -q XDG_CONFIG_HOME; and echo $XDG_CONFIG_HOME; or echo $HOME/.config)
        test -n "$config"; or set config (set -q SWIFTD_CONFIG_DIR; and echo $SWIFTD_CONFIG_DIR; or echo $home_config/swiftd)
        set -l default_run /tmp/swiftd-(id -u)
        set -q XDG_RUNTIME_DIR; and set default_run $XDG_RUNTIME_DIR/swiftd
        test -n "$run"; or set run (set -q SWIFTD_RUN_DIR; and echo $SWIFTD_RUN_DIR; or echo $default_run)
    end
    for file in $config/*.conf $run/*.pid $run/*.state
        string replace -r '\.[^.]*$' '' (basename $file)
    end | sort -u
end

# The words before -- that are neither options nor their values: the command
# word, then the names.
function __swiftd_words
    set -l words (commandline -opc)
    set -l skip 0
    for word in $words[2..-1]
        if test $skip -eq 1
            set skip 0
            continue
        end
        test "$word" = -- ; and return
        if string match -q -- '-*' $word
            string match -q -- '*=*' $word; or not __swiftd_takes_value $word; or set skip 1
            continue
        end
        echo $word
    end
end

function __swiftd_command
    set -l words (__swiftd_words)
    test (count $words) -gt 0; or return 1
    echo $words[1]
end

function __swiftd_names_given
    math (count (__swiftd_words)) - 1
end

function __swiftd_takes_value
    contains -- (string replace -- '--' '' $argv[1]) run-dir log-dir config-dir timeout signal lines $__swiftd_start_value_options
    or test "$argv[1]" = -n
end
set -g __swiftd_start_value_options $start_value_options

# A name is wanted: several for start, stop, restart, status; one for the others.
function __swiftd_wants_name
    set -l command (__swiftd_command); or return 1
    set -l given (__swiftd_names_given)
    switch $command
        case start stop restart status
            return 0
        case run check reload reopen logs forget signal
            test $given -eq 0
        case '*'
            return 1
    end
end

function __swiftd_after_dash
    contains -- -- (commandline -opc)
end

complete -c swiftd -f
complete -c swiftd -n "not __fish_seen_subcommand_from $commands" -a "$commands"
complete -c swiftd -n "__fish_seen_subcommand_from help; and test (__swiftd_names_given) -eq 0" -a "$commands"
complete -c swiftd -n "__swiftd_wants_name; and not __swiftd_after_dash" -a "(__swiftd_services)"
complete -c swiftd -n "__fish_seen_subcommand_from signal; and test (__swiftd_names_given) -eq 1" -a "$signals"
complete -c swiftd -n "__swiftd_after_dash" -F

# Every command.
complete -c swiftd -n "not __swiftd_after_dash" -l run-dir -x -a "(__fish_complete_directories)"
complete -c swiftd -n "not __swiftd_after_dash" -l log-dir -x -a "(__fish_complete_directories)"
complete -c swiftd -n "not __swiftd_after_dash" -l config-dir -x -a "(__fish_complete_directories)"
complete -c swiftd -n "not __swiftd_after_dash" -s q -l quiet
complete -c swiftd -n "not __swiftd_after_dash" -s h -l help
complete -c swiftd -n "not __fish_seen_subcommand_from $commands" -s V -l version

# Start options: start, run, restart, check.
set -l starting "__fish_seen_subcommand_from start run restart check; and not __swiftd_after_dash"
for option in $start_value_options
    complete -c swiftd -n $starting -l $option -x
end
for flag in $start_flags
    complete -c swiftd -n $starting -l $flag
end
complete -c swiftd -n $starting -l chdir -x -a "(__fish_complete_directories)"
complete -c swiftd -n $starting -l log -x -a "none syslog (__fish_complete_path)"
complete -c swiftd -n $starting -l pidfile -x -a "none (__fish_complete_path)"
complete -c swiftd -n $starting -l watch -x -a "(__fish_complete_path)"
complete -c swiftd -n $starting -l env-file -x -a "(__fish_complete_path)"
complete -c swiftd -n $starting -l chroot -x -a "none (__fish_complete_directories)"
complete -c swiftd -n $starting -l limit -x -a "nofile nproc core memlock as fsize cpu stack data rss msgqueue nice rtprio sigpending locks"
complete -c swiftd -n $starting -l iosched -x -a "idle best-effort real-time"
complete -c swiftd -n $starting -l cpusched -x -a "other batch idle fifo rr"
complete -c swiftd -n $starting -l user -x -a "(__fish_complete_users)"
complete -c swiftd -n $starting -l group -x -a "(__fish_complete_groups)"
complete -c swiftd -n $starting -l restart -x -a "no on-failure always"
complete -c swiftd -n $starting -l ready -x -a "exec notify fd:3"
complete -c swiftd -n $starting -l watch-action -x -a "restart reload"
complete -c swiftd -n $starting -l kill-mode -x -a "group main"
complete -c swiftd -n $starting -l restart-mode -x -a "stop-first overlap"
complete -c swiftd -n $starting -l listen -x -a "tcp: tcp6: udp: unix:"
complete -c swiftd -n $starting -l stop-signal -x -a "$signals"
complete -c swiftd -n $starting -l reload-signal -x -a "$signals"

# The other commands' options.
complete -c swiftd -n "__fish_seen_subcommand_from stop" -l timeout -x
complete -c swiftd -n "__fish_seen_subcommand_from stop" -l signal -x -a "$signals"
complete -c swiftd -n "__fish_seen_subcommand_from status list" -l json
complete -c swiftd -n "__fish_seen_subcommand_from logs" -s n -l lines -x
complete -c swiftd -n "__fish_seen_subcommand_from logs" -s f -l follow
