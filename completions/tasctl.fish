# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_tasctl_global_optspecs
    string join \n b/broker= u/username= P/password= connect-timeout= qos= profile= w/wait= json color= v/verbose h/help V/version
end

function __fish_tasctl_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_tasctl_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_tasctl_using_subcommand
    set -l cmd (__fish_tasctl_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c tasctl -n "__fish_tasctl_needs_command" -s b -l broker -d 'Broker URL: mqtt://[user@]host[:port] or mqtts://... [default: mqtt://localhost:1883]' -r
complete -c tasctl -n "__fish_tasctl_needs_command" -s u -l username -d 'User name for the broker' -r
complete -c tasctl -n "__fish_tasctl_needs_command" -s P -l password -d 'Password for the broker; prefer the TASCTL_PASSWORD variable or `password_file` in the profile, which keep it out of the process list and shell history' -r
complete -c tasctl -n "__fish_tasctl_needs_command" -l connect-timeout -d 'How long to wait for the broker to accept the connection [default: 5s]' -r
complete -c tasctl -n "__fish_tasctl_needs_command" -l qos -d 'QoS of what tasctl publishes and subscribes [default: 0]' -r
complete -c tasctl -n "__fish_tasctl_needs_command" -l profile -d 'Profile file [default: <config dir>/tasctl/profile.toml]' -r -F
complete -c tasctl -n "__fish_tasctl_needs_command" -s w -l wait -d 'How long to wait for devices to answer, like 500ms, 2s, 1m [default: 2s]' -r
complete -c tasctl -n "__fish_tasctl_needs_command" -l color -d 'When to colour the output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c tasctl -n "__fish_tasctl_needs_command" -l json -d 'Print JSON on stdout instead of text'
complete -c tasctl -n "__fish_tasctl_needs_command" -s v -l verbose -d 'Trace the MQTT exchange on stderr (never shows a password)'
complete -c tasctl -n "__fish_tasctl_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tasctl -n "__fish_tasctl_needs_command" -s V -l version -d 'Print version'
complete -c tasctl -n "__fish_tasctl_needs_command" -f -a "power" -d 'Switch or read an output and wait for the device to confirm'
complete -c tasctl -n "__fish_tasctl_needs_command" -f -a "status" -d 'Ask devices for their status (`Status N`) and gather every reply'
complete -c tasctl -n "__fish_tasctl_needs_command" -f -a "send" -d 'Send any firmware command and print the reply'
complete -c tasctl -n "__fish_tasctl_needs_command" -f -a "watch" -d 'Tail live stat/tele traffic, by device name'
complete -c tasctl -n "__fish_tasctl_needs_command" -f -a "discover" -d 'Find the devices on the broker'
complete -c tasctl -n "__fish_tasctl_needs_command" -f -a "profile" -d 'Read and edit the profile'
complete -c tasctl -n "__fish_tasctl_needs_command" -f -a "completions" -d 'Print a shell completion script'
complete -c tasctl -n "__fish_tasctl_needs_command" -f -a "manpage" -d 'Print the man page (roff)'
complete -c tasctl -n "__fish_tasctl_needs_command" -f -a "simulate" -d 'Run virtual Tasmota devices that answer like the firmware'
complete -c tasctl -n "__fish_tasctl_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tasctl -n "__fish_tasctl_using_subcommand power" -s r -l relay -d 'Which output: a number (Power2) or `all` (Power0) [default: the first]' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand power" -s b -l broker -d 'Broker URL: mqtt://[user@]host[:port] or mqtts://... [default: mqtt://localhost:1883]' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand power" -s u -l username -d 'User name for the broker' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand power" -s P -l password -d 'Password for the broker; prefer the TASCTL_PASSWORD variable or `password_file` in the profile, which keep it out of the process list and shell history' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand power" -l connect-timeout -d 'How long to wait for the broker to accept the connection [default: 5s]' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand power" -l qos -d 'QoS of what tasctl publishes and subscribes [default: 0]' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand power" -l profile -d 'Profile file [default: <config dir>/tasctl/profile.toml]' -r -F
complete -c tasctl -n "__fish_tasctl_using_subcommand power" -s w -l wait -d 'How long to wait for devices to answer, like 500ms, 2s, 1m [default: 2s]' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand power" -l color -d 'When to colour the output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c tasctl -n "__fish_tasctl_using_subcommand power" -l json -d 'Print JSON on stdout instead of text'
complete -c tasctl -n "__fish_tasctl_using_subcommand power" -s v -l verbose -d 'Trace the MQTT exchange on stderr (never shows a password)'
complete -c tasctl -n "__fish_tasctl_using_subcommand power" -s h -l help -d 'Print help'
complete -c tasctl -n "__fish_tasctl_using_subcommand status" -s s -l section -d 'Which section: 0 for all, or 1-13 (11 is the live state)' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand status" -s b -l broker -d 'Broker URL: mqtt://[user@]host[:port] or mqtts://... [default: mqtt://localhost:1883]' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand status" -s u -l username -d 'User name for the broker' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand status" -s P -l password -d 'Password for the broker; prefer the TASCTL_PASSWORD variable or `password_file` in the profile, which keep it out of the process list and shell history' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand status" -l connect-timeout -d 'How long to wait for the broker to accept the connection [default: 5s]' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand status" -l qos -d 'QoS of what tasctl publishes and subscribes [default: 0]' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand status" -l profile -d 'Profile file [default: <config dir>/tasctl/profile.toml]' -r -F
complete -c tasctl -n "__fish_tasctl_using_subcommand status" -s w -l wait -d 'How long to wait for devices to answer, like 500ms, 2s, 1m [default: 2s]' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand status" -l color -d 'When to colour the output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c tasctl -n "__fish_tasctl_using_subcommand status" -l json -d 'Print JSON on stdout instead of text'
complete -c tasctl -n "__fish_tasctl_using_subcommand status" -s v -l verbose -d 'Trace the MQTT exchange on stderr (never shows a password)'
complete -c tasctl -n "__fish_tasctl_using_subcommand status" -s h -l help -d 'Print help'
complete -c tasctl -n "__fish_tasctl_using_subcommand send" -s b -l broker -d 'Broker URL: mqtt://[user@]host[:port] or mqtts://... [default: mqtt://localhost:1883]' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand send" -s u -l username -d 'User name for the broker' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand send" -s P -l password -d 'Password for the broker; prefer the TASCTL_PASSWORD variable or `password_file` in the profile, which keep it out of the process list and shell history' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand send" -l connect-timeout -d 'How long to wait for the broker to accept the connection [default: 5s]' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand send" -l qos -d 'QoS of what tasctl publishes and subscribes [default: 0]' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand send" -l profile -d 'Profile file [default: <config dir>/tasctl/profile.toml]' -r -F
complete -c tasctl -n "__fish_tasctl_using_subcommand send" -s w -l wait -d 'How long to wait for devices to answer, like 500ms, 2s, 1m [default: 2s]' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand send" -l color -d 'When to colour the output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c tasctl -n "__fish_tasctl_using_subcommand send" -l no-wait -d 'Return once the command is published, without waiting for a reply'
complete -c tasctl -n "__fish_tasctl_using_subcommand send" -l json -d 'Print JSON on stdout instead of text'
complete -c tasctl -n "__fish_tasctl_using_subcommand send" -s v -l verbose -d 'Trace the MQTT exchange on stderr (never shows a password)'
complete -c tasctl -n "__fish_tasctl_using_subcommand send" -s h -l help -d 'Print help'
complete -c tasctl -n "__fish_tasctl_using_subcommand watch" -l prefix -d 'Message classes to show [default: stat and tele]' -r -f -a "stat\t''
tele\t''
cmnd\t''"
complete -c tasctl -n "__fish_tasctl_using_subcommand watch" -l only -d 'Only these suffixes (POWER, RESULT, SENSOR, ...)' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand watch" -l topic -d 'Raw MQTT filters to watch as well' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand watch" -s n -l count -d 'Stop after this many messages' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand watch" -l for -d 'Stop after this long' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand watch" -l session -d 'Keep a persistent session under this name, so nothing is lost between runs' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand watch" -s b -l broker -d 'Broker URL: mqtt://[user@]host[:port] or mqtts://... [default: mqtt://localhost:1883]' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand watch" -s u -l username -d 'User name for the broker' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand watch" -s P -l password -d 'Password for the broker; prefer the TASCTL_PASSWORD variable or `password_file` in the profile, which keep it out of the process list and shell history' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand watch" -l connect-timeout -d 'How long to wait for the broker to accept the connection [default: 5s]' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand watch" -l qos -d 'QoS of what tasctl publishes and subscribes [default: 0]' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand watch" -l profile -d 'Profile file [default: <config dir>/tasctl/profile.toml]' -r -F
complete -c tasctl -n "__fish_tasctl_using_subcommand watch" -s w -l wait -d 'How long to wait for devices to answer, like 500ms, 2s, 1m [default: 2s]' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand watch" -l color -d 'When to colour the output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c tasctl -n "__fish_tasctl_using_subcommand watch" -l json -d 'Print JSON on stdout instead of text'
complete -c tasctl -n "__fish_tasctl_using_subcommand watch" -s v -l verbose -d 'Trace the MQTT exchange on stderr (never shows a password)'
complete -c tasctl -n "__fish_tasctl_using_subcommand watch" -s h -l help -d 'Print help'
complete -c tasctl -n "__fish_tasctl_using_subcommand discover" -s b -l broker -d 'Broker URL: mqtt://[user@]host[:port] or mqtts://... [default: mqtt://localhost:1883]' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand discover" -s u -l username -d 'User name for the broker' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand discover" -s P -l password -d 'Password for the broker; prefer the TASCTL_PASSWORD variable or `password_file` in the profile, which keep it out of the process list and shell history' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand discover" -l connect-timeout -d 'How long to wait for the broker to accept the connection [default: 5s]' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand discover" -l qos -d 'QoS of what tasctl publishes and subscribes [default: 0]' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand discover" -l profile -d 'Profile file [default: <config dir>/tasctl/profile.toml]' -r -F
complete -c tasctl -n "__fish_tasctl_using_subcommand discover" -s w -l wait -d 'How long to wait for devices to answer, like 500ms, 2s, 1m [default: 2s]' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand discover" -l color -d 'When to colour the output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c tasctl -n "__fish_tasctl_using_subcommand discover" -l save -d 'Add what was found to the profile, keeping its comments'
complete -c tasctl -n "__fish_tasctl_using_subcommand discover" -l json -d 'Print JSON on stdout instead of text'
complete -c tasctl -n "__fish_tasctl_using_subcommand discover" -s v -l verbose -d 'Trace the MQTT exchange on stderr (never shows a password)'
complete -c tasctl -n "__fish_tasctl_using_subcommand discover" -s h -l help -d 'Print help'
complete -c tasctl -n "__fish_tasctl_using_subcommand profile; and not __fish_seen_subcommand_from list path add remove help" -s b -l broker -d 'Broker URL: mqtt://[user@]host[:port] or mqtts://... [default: mqtt://localhost:1883]' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand profile; and not __fish_seen_subcommand_from list path add remove help" -s u -l username -d 'User name for the broker' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand profile; and not __fish_seen_subcommand_from list path add remove help" -s P -l password -d 'Password for the broker; prefer the TASCTL_PASSWORD variable or `password_file` in the profile, which keep it out of the process list and shell history' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand profile; and not __fish_seen_subcommand_from list path add remove help" -l connect-timeout -d 'How long to wait for the broker to accept the connection [default: 5s]' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand profile; and not __fish_seen_subcommand_from list path add remove help" -l qos -d 'QoS of what tasctl publishes and subscribes [default: 0]' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand profile; and not __fish_seen_subcommand_from list path add remove help" -l profile -d 'Profile file [default: <config dir>/tasctl/profile.toml]' -r -F
complete -c tasctl -n "__fish_tasctl_using_subcommand profile; and not __fish_seen_subcommand_from list path add remove help" -s w -l wait -d 'How long to wait for devices to answer, like 500ms, 2s, 1m [default: 2s]' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand profile; and not __fish_seen_subcommand_from list path add remove help" -l color -d 'When to colour the output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c tasctl -n "__fish_tasctl_using_subcommand profile; and not __fish_seen_subcommand_from list path add remove help" -l json -d 'Print JSON on stdout instead of text'
complete -c tasctl -n "__fish_tasctl_using_subcommand profile; and not __fish_seen_subcommand_from list path add remove help" -s v -l verbose -d 'Trace the MQTT exchange on stderr (never shows a password)'
complete -c tasctl -n "__fish_tasctl_using_subcommand profile; and not __fish_seen_subcommand_from list path add remove help" -s h -l help -d 'Print help'
complete -c tasctl -n "__fish_tasctl_using_subcommand profile; and not __fish_seen_subcommand_from list path add remove help" -f -a "list" -d 'List the devices and groups'
complete -c tasctl -n "__fish_tasctl_using_subcommand profile; and not __fish_seen_subcommand_from list path add remove help" -f -a "path" -d 'Print the profile\'s path'
complete -c tasctl -n "__fish_tasctl_using_subcommand profile; and not __fish_seen_subcommand_from list path add remove help" -f -a "add" -d 'Add a device: NAME = TOPIC'
complete -c tasctl -n "__fish_tasctl_using_subcommand profile; and not __fish_seen_subcommand_from list path add remove help" -f -a "remove" -d 'Remove a device or group'
complete -c tasctl -n "__fish_tasctl_using_subcommand profile; and not __fish_seen_subcommand_from list path add remove help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tasctl -n "__fish_tasctl_using_subcommand profile; and __fish_seen_subcommand_from list" -s b -l broker -d 'Broker URL: mqtt://[user@]host[:port] or mqtts://... [default: mqtt://localhost:1883]' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand profile; and __fish_seen_subcommand_from list" -s u -l username -d 'User name for the broker' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand profile; and __fish_seen_subcommand_from list" -s P -l password -d 'Password for the broker; prefer the TASCTL_PASSWORD variable or `password_file` in the profile, which keep it out of the process list and shell history' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand profile; and __fish_seen_subcommand_from list" -l connect-timeout -d 'How long to wait for the broker to accept the connection [default: 5s]' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand profile; and __fish_seen_subcommand_from list" -l qos -d 'QoS of what tasctl publishes and subscribes [default: 0]' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand profile; and __fish_seen_subcommand_from list" -l profile -d 'Profile file [default: <config dir>/tasctl/profile.toml]' -r -F
complete -c tasctl -n "__fish_tasctl_using_subcommand profile; and __fish_seen_subcommand_from list" -s w -l wait -d 'How long to wait for devices to answer, like 500ms, 2s, 1m [default: 2s]' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand profile; and __fish_seen_subcommand_from list" -l color -d 'When to colour the output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c tasctl -n "__fish_tasctl_using_subcommand profile; and __fish_seen_subcommand_from list" -l json -d 'Print JSON on stdout instead of text'
complete -c tasctl -n "__fish_tasctl_using_subcommand profile; and __fish_seen_subcommand_from list" -s v -l verbose -d 'Trace the MQTT exchange on stderr (never shows a password)'
complete -c tasctl -n "__fish_tasctl_using_subcommand profile; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c tasctl -n "__fish_tasctl_using_subcommand profile; and __fish_seen_subcommand_from path" -s b -l broker -d 'Broker URL: mqtt://[user@]host[:port] or mqtts://... [default: mqtt://localhost:1883]' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand profile; and __fish_seen_subcommand_from path" -s u -l username -d 'User name for the broker' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand profile; and __fish_seen_subcommand_from path" -s P -l password -d 'Password for the broker; prefer the TASCTL_PASSWORD variable or `password_file` in the profile, which keep it out of the process list and shell history' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand profile; and __fish_seen_subcommand_from path" -l connect-timeout -d 'How long to wait for the broker to accept the connection [default: 5s]' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand profile; and __fish_seen_subcommand_from path" -l qos -d 'QoS of what tasctl publishes and subscribes [default: 0]' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand profile; and __fish_seen_subcommand_from path" -l profile -d 'Profile file [default: <config dir>/tasctl/profile.toml]' -r -F
complete -c tasctl -n "__fish_tasctl_using_subcommand profile; and __fish_seen_subcommand_from path" -s w -l wait -d 'How long to wait for devices to answer, like 500ms, 2s, 1m [default: 2s]' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand profile; and __fish_seen_subcommand_from path" -l color -d 'When to colour the output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c tasctl -n "__fish_tasctl_using_subcommand profile; and __fish_seen_subcommand_from path" -l json -d 'Print JSON on stdout instead of text'
complete -c tasctl -n "__fish_tasctl_using_subcommand profile; and __fish_seen_subcommand_from path" -s v -l verbose -d 'Trace the MQTT exchange on stderr (never shows a password)'
complete -c tasctl -n "__fish_tasctl_using_subcommand profile; and __fish_seen_subcommand_from path" -s h -l help -d 'Print help'
complete -c tasctl -n "__fish_tasctl_using_subcommand profile; and __fish_seen_subcommand_from add" -s b -l broker -d 'Broker URL: mqtt://[user@]host[:port] or mqtts://... [default: mqtt://localhost:1883]' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand profile; and __fish_seen_subcommand_from add" -s u -l username -d 'User name for the broker' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand profile; and __fish_seen_subcommand_from add" -s P -l password -d 'Password for the broker; prefer the TASCTL_PASSWORD variable or `password_file` in the profile, which keep it out of the process list and shell history' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand profile; and __fish_seen_subcommand_from add" -l connect-timeout -d 'How long to wait for the broker to accept the connection [default: 5s]' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand profile; and __fish_seen_subcommand_from add" -l qos -d 'QoS of what tasctl publishes and subscribes [default: 0]' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand profile; and __fish_seen_subcommand_from add" -l profile -d 'Profile file [default: <config dir>/tasctl/profile.toml]' -r -F
complete -c tasctl -n "__fish_tasctl_using_subcommand profile; and __fish_seen_subcommand_from add" -s w -l wait -d 'How long to wait for devices to answer, like 500ms, 2s, 1m [default: 2s]' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand profile; and __fish_seen_subcommand_from add" -l color -d 'When to colour the output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c tasctl -n "__fish_tasctl_using_subcommand profile; and __fish_seen_subcommand_from add" -l json -d 'Print JSON on stdout instead of text'
complete -c tasctl -n "__fish_tasctl_using_subcommand profile; and __fish_seen_subcommand_from add" -s v -l verbose -d 'Trace the MQTT exchange on stderr (never shows a password)'
complete -c tasctl -n "__fish_tasctl_using_subcommand profile; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help'
complete -c tasctl -n "__fish_tasctl_using_subcommand profile; and __fish_seen_subcommand_from remove" -s b -l broker -d 'Broker URL: mqtt://[user@]host[:port] or mqtts://... [default: mqtt://localhost:1883]' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand profile; and __fish_seen_subcommand_from remove" -s u -l username -d 'User name for the broker' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand profile; and __fish_seen_subcommand_from remove" -s P -l password -d 'Password for the broker; prefer the TASCTL_PASSWORD variable or `password_file` in the profile, which keep it out of the process list and shell history' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand profile; and __fish_seen_subcommand_from remove" -l connect-timeout -d 'How long to wait for the broker to accept the connection [default: 5s]' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand profile; and __fish_seen_subcommand_from remove" -l qos -d 'QoS of what tasctl publishes and subscribes [default: 0]' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand profile; and __fish_seen_subcommand_from remove" -l profile -d 'Profile file [default: <config dir>/tasctl/profile.toml]' -r -F
complete -c tasctl -n "__fish_tasctl_using_subcommand profile; and __fish_seen_subcommand_from remove" -s w -l wait -d 'How long to wait for devices to answer, like 500ms, 2s, 1m [default: 2s]' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand profile; and __fish_seen_subcommand_from remove" -l color -d 'When to colour the output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c tasctl -n "__fish_tasctl_using_subcommand profile; and __fish_seen_subcommand_from remove" -l json -d 'Print JSON on stdout instead of text'
complete -c tasctl -n "__fish_tasctl_using_subcommand profile; and __fish_seen_subcommand_from remove" -s v -l verbose -d 'Trace the MQTT exchange on stderr (never shows a password)'
complete -c tasctl -n "__fish_tasctl_using_subcommand profile; and __fish_seen_subcommand_from remove" -s h -l help -d 'Print help'
complete -c tasctl -n "__fish_tasctl_using_subcommand profile; and __fish_seen_subcommand_from help" -f -a "list" -d 'List the devices and groups'
complete -c tasctl -n "__fish_tasctl_using_subcommand profile; and __fish_seen_subcommand_from help" -f -a "path" -d 'Print the profile\'s path'
complete -c tasctl -n "__fish_tasctl_using_subcommand profile; and __fish_seen_subcommand_from help" -f -a "add" -d 'Add a device: NAME = TOPIC'
complete -c tasctl -n "__fish_tasctl_using_subcommand profile; and __fish_seen_subcommand_from help" -f -a "remove" -d 'Remove a device or group'
complete -c tasctl -n "__fish_tasctl_using_subcommand profile; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tasctl -n "__fish_tasctl_using_subcommand completions" -s b -l broker -d 'Broker URL: mqtt://[user@]host[:port] or mqtts://... [default: mqtt://localhost:1883]' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand completions" -s u -l username -d 'User name for the broker' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand completions" -s P -l password -d 'Password for the broker; prefer the TASCTL_PASSWORD variable or `password_file` in the profile, which keep it out of the process list and shell history' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand completions" -l connect-timeout -d 'How long to wait for the broker to accept the connection [default: 5s]' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand completions" -l qos -d 'QoS of what tasctl publishes and subscribes [default: 0]' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand completions" -l profile -d 'Profile file [default: <config dir>/tasctl/profile.toml]' -r -F
complete -c tasctl -n "__fish_tasctl_using_subcommand completions" -s w -l wait -d 'How long to wait for devices to answer, like 500ms, 2s, 1m [default: 2s]' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand completions" -l color -d 'When to colour the output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c tasctl -n "__fish_tasctl_using_subcommand completions" -l json -d 'Print JSON on stdout instead of text'
complete -c tasctl -n "__fish_tasctl_using_subcommand completions" -s v -l verbose -d 'Trace the MQTT exchange on stderr (never shows a password)'
complete -c tasctl -n "__fish_tasctl_using_subcommand completions" -s h -l help -d 'Print help'
complete -c tasctl -n "__fish_tasctl_using_subcommand manpage" -s b -l broker -d 'Broker URL: mqtt://[user@]host[:port] or mqtts://... [default: mqtt://localhost:1883]' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand manpage" -s u -l username -d 'User name for the broker' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand manpage" -s P -l password -d 'Password for the broker; prefer the TASCTL_PASSWORD variable or `password_file` in the profile, which keep it out of the process list and shell history' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand manpage" -l connect-timeout -d 'How long to wait for the broker to accept the connection [default: 5s]' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand manpage" -l qos -d 'QoS of what tasctl publishes and subscribes [default: 0]' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand manpage" -l profile -d 'Profile file [default: <config dir>/tasctl/profile.toml]' -r -F
complete -c tasctl -n "__fish_tasctl_using_subcommand manpage" -s w -l wait -d 'How long to wait for devices to answer, like 500ms, 2s, 1m [default: 2s]' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand manpage" -l color -d 'When to colour the output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c tasctl -n "__fish_tasctl_using_subcommand manpage" -l json -d 'Print JSON on stdout instead of text'
complete -c tasctl -n "__fish_tasctl_using_subcommand manpage" -s v -l verbose -d 'Trace the MQTT exchange on stderr (never shows a password)'
complete -c tasctl -n "__fish_tasctl_using_subcommand manpage" -s h -l help -d 'Print help'
complete -c tasctl -n "__fish_tasctl_using_subcommand simulate" -l devices -d 'How many default devices to run' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand simulate" -l scenario -d 'A TOML file describing the devices' -r -F
complete -c tasctl -n "__fish_tasctl_using_subcommand simulate" -l flood -d 'Once ready, publish this many STATE telemetry messages as fast as possible (load tests)' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand simulate" -l listen -d 'Where the embedded broker listens' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand simulate" -s b -l broker -d 'Broker URL: mqtt://[user@]host[:port] or mqtts://... [default: mqtt://localhost:1883]' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand simulate" -s u -l username -d 'User name for the broker' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand simulate" -s P -l password -d 'Password for the broker; prefer the TASCTL_PASSWORD variable or `password_file` in the profile, which keep it out of the process list and shell history' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand simulate" -l connect-timeout -d 'How long to wait for the broker to accept the connection [default: 5s]' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand simulate" -l qos -d 'QoS of what tasctl publishes and subscribes [default: 0]' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand simulate" -l profile -d 'Profile file [default: <config dir>/tasctl/profile.toml]' -r -F
complete -c tasctl -n "__fish_tasctl_using_subcommand simulate" -s w -l wait -d 'How long to wait for devices to answer, like 500ms, 2s, 1m [default: 2s]' -r
complete -c tasctl -n "__fish_tasctl_using_subcommand simulate" -l color -d 'When to colour the output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c tasctl -n "__fish_tasctl_using_subcommand simulate" -l fleet -d 'Put every device on one connection (for hundreds or thousands of devices)'
complete -c tasctl -n "__fish_tasctl_using_subcommand simulate" -l embedded -d 'Run an MQTT broker inside the process (for trying tasctl out)'
complete -c tasctl -n "__fish_tasctl_using_subcommand simulate" -l json -d 'Print JSON on stdout instead of text'
complete -c tasctl -n "__fish_tasctl_using_subcommand simulate" -s v -l verbose -d 'Trace the MQTT exchange on stderr (never shows a password)'
complete -c tasctl -n "__fish_tasctl_using_subcommand simulate" -s h -l help -d 'Print help'
complete -c tasctl -n "__fish_tasctl_using_subcommand help; and not __fish_seen_subcommand_from power status send watch discover profile completions manpage simulate help" -f -a "power" -d 'Switch or read an output and wait for the device to confirm'
complete -c tasctl -n "__fish_tasctl_using_subcommand help; and not __fish_seen_subcommand_from power status send watch discover profile completions manpage simulate help" -f -a "status" -d 'Ask devices for their status (`Status N`) and gather every reply'
complete -c tasctl -n "__fish_tasctl_using_subcommand help; and not __fish_seen_subcommand_from power status send watch discover profile completions manpage simulate help" -f -a "send" -d 'Send any firmware command and print the reply'
complete -c tasctl -n "__fish_tasctl_using_subcommand help; and not __fish_seen_subcommand_from power status send watch discover profile completions manpage simulate help" -f -a "watch" -d 'Tail live stat/tele traffic, by device name'
complete -c tasctl -n "__fish_tasctl_using_subcommand help; and not __fish_seen_subcommand_from power status send watch discover profile completions manpage simulate help" -f -a "discover" -d 'Find the devices on the broker'
complete -c tasctl -n "__fish_tasctl_using_subcommand help; and not __fish_seen_subcommand_from power status send watch discover profile completions manpage simulate help" -f -a "profile" -d 'Read and edit the profile'
complete -c tasctl -n "__fish_tasctl_using_subcommand help; and not __fish_seen_subcommand_from power status send watch discover profile completions manpage simulate help" -f -a "completions" -d 'Print a shell completion script'
complete -c tasctl -n "__fish_tasctl_using_subcommand help; and not __fish_seen_subcommand_from power status send watch discover profile completions manpage simulate help" -f -a "manpage" -d 'Print the man page (roff)'
complete -c tasctl -n "__fish_tasctl_using_subcommand help; and not __fish_seen_subcommand_from power status send watch discover profile completions manpage simulate help" -f -a "simulate" -d 'Run virtual Tasmota devices that answer like the firmware'
complete -c tasctl -n "__fish_tasctl_using_subcommand help; and not __fish_seen_subcommand_from power status send watch discover profile completions manpage simulate help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tasctl -n "__fish_tasctl_using_subcommand help; and __fish_seen_subcommand_from profile" -f -a "list" -d 'List the devices and groups'
complete -c tasctl -n "__fish_tasctl_using_subcommand help; and __fish_seen_subcommand_from profile" -f -a "path" -d 'Print the profile\'s path'
complete -c tasctl -n "__fish_tasctl_using_subcommand help; and __fish_seen_subcommand_from profile" -f -a "add" -d 'Add a device: NAME = TOPIC'
complete -c tasctl -n "__fish_tasctl_using_subcommand help; and __fish_seen_subcommand_from profile" -f -a "remove" -d 'Remove a device or group'
