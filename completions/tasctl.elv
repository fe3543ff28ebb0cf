
use builtin;
use str;

set edit:completion:arg-completer[tasctl] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'tasctl'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'tasctl'= {
            cand -b 'Broker URL: mqtt://[user@]host[:port] or mqtts://... [default: mqtt://localhost:1883]'
            cand --broker 'Broker URL: mqtt://[user@]host[:port] or mqtts://... [default: mqtt://localhost:1883]'
            cand -u 'User name for the broker'
            cand --username 'User name for the broker'
            cand -P 'Password for the broker; prefer the TASCTL_PASSWORD variable or `password_file` in the profile, which keep it out of the process list and shell history'
            cand --password 'Password for the broker; prefer the TASCTL_PASSWORD variable or `password_file` in the profile, which keep it out of the process list and shell history'
            cand --connect-timeout 'How long to wait for the broker to accept the connection [default: 5s]'
            cand --qos 'QoS of what tasctl publishes and subscribes [default: 0]'
            cand --profile 'Profile file [default: <config dir>/tasctl/profile.toml]'
            cand -w 'How long to wait for devices to answer, like 500ms, 2s, 1m [default: 2s]'
            cand --wait 'How long to wait for devices to answer, like 500ms, 2s, 1m [default: 2s]'
            cand --color 'When to colour the output'
            cand --json 'Print JSON on stdout instead of text'
            cand -v 'Trace the MQTT exchange on stderr (never shows a password)'
            cand --verbose 'Trace the MQTT exchange on stderr (never shows a password)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand power 'Switch or read an output and wait for the device to confirm'
            cand status 'Ask devices for their status (`Status N`) and gather every reply'
            cand send 'Send any firmware command and print the reply'
            cand watch 'Tail live stat/tele traffic, by device name'
            cand discover 'Find the devices on the broker'
            cand profile 'Read and edit the profile'
            cand completions 'Print a shell completion script'
            cand manpage 'Print the man page (roff)'
            cand simulate 'Run virtual Tasmota devices that answer like the firmware'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'tasctl;power'= {
            cand -r 'Which output: a number (Power2) or `all` (Power0) [default: the first]'
            cand --relay 'Which output: a number (Power2) or `all` (Power0) [default: the first]'
            cand -b 'Broker URL: mqtt://[user@]host[:port] or mqtts://... [default: mqtt://localhost:1883]'
            cand --broker 'Broker URL: mqtt://[user@]host[:port] or mqtts://... [default: mqtt://localhost:1883]'
            cand -u 'User name for the broker'
            cand --username 'User name for the broker'
            cand -P 'Password for the broker; prefer the TASCTL_PASSWORD variable or `password_file` in the profile, which keep it out of the process list and shell history'
            cand --password 'Password for the broker; prefer the TASCTL_PASSWORD variable or `password_file` in the profile, which keep it out of the process list and shell history'
            cand --connect-timeout 'How long to wait for the broker to accept the connection [default: 5s]'
            cand --qos 'QoS of what tasctl publishes and subscribes [default: 0]'
            cand --profile 'Profile file [default: <config dir>/tasctl/profile.toml]'
            cand -w 'How long to wait for devices to answer, like 500ms, 2s, 1m [default: 2s]'
            cand --wait 'How long to wait for devices to answer, like 500ms, 2s, 1m [default: 2s]'
            cand --color 'When to colour the output'
            cand --json 'Print JSON on stdout instead of text'
            cand -v 'Trace the MQTT exchange on stderr (never shows a password)'
            cand --verbose 'Trace the MQTT exchange on stderr (never shows a password)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'tasctl;status'= {
            cand -s 'Which section: 0 for all, or 1-13 (11 is the live state)'
            cand --section 'Which section: 0 for all, or 1-13 (11 is the live state)'
            cand -b 'Broker URL: mqtt://[user@]host[:port] or mqtts://... [default: mqtt://localhost:1883]'
            cand --broker 'Broker URL: mqtt://[user@]host[:port] or mqtts://... [default: mqtt://localhost:1883]'
            cand -u 'User name for the broker'
            cand --username 'User name for the broker'
            cand -P 'Password for the broker; prefer the TASCTL_PASSWORD variable or `password_file` in the profile, which keep it out of the process list and shell history'
            cand --password 'Password for the broker; prefer the TASCTL_PASSWORD variable or `password_file` in the profile, which keep it out of the process list and shell history'
            cand --connect-timeout 'How long to wait for the broker to accept the connection [default: 5s]'
            cand --qos 'QoS of what tasctl publishes and subscribes [default: 0]'
            cand --profile 'Profile file [default: <config dir>/tasctl/profile.toml]'
            cand -w 'How long to wait for devices to answer, like 500ms, 2s, 1m [default: 2s]'
            cand --wait 'How long to wait for devices to answer, like 500ms, 2s, 1m [default: 2s]'
            cand --color 'When to colour the output'
            cand --json 'Print JSON on stdout instead of text'
            cand -v 'Trace the MQTT exchange on stderr (never shows a password)'
            cand --verbose 'Trace the MQTT exchange on stderr (never shows a password)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'tasctl;send'= {
            cand -b 'Broker URL: mqtt://[user@]host[:port] or mqtts://... [default: mqtt://localhost:1883]'
            cand --broker 'Broker URL: mqtt://[user@]host[:port] or mqtts://... [default: mqtt://localhost:1883]'
            cand -u 'User name for the broker'
            cand --username 'User name for the broker'
            cand -P 'Password for the broker; prefer the TASCTL_PASSWORD variable or `password_file` in the profile, which keep it out of the process list and shell history'
            cand --password 'Password for the broker; prefer the TASCTL_PASSWORD variable or `password_file` in the profile, which keep it out of the process list and shell history'
            cand --connect-timeout 'How long to wait for the broker to accept the connection [default: 5s]'
            cand --qos 'QoS of what tasctl publishes and subscribes [default: 0]'
            cand --profile 'Profile file [default: <config dir>/tasctl/profile.toml]'
            cand -w 'How long to wait for devices to answer, like 500ms, 2s, 1m [default: 2s]'
            cand --wait 'How long to wait for devices to answer, like 500ms, 2s, 1m [default: 2s]'
            cand --color 'When to colour the output'
            cand --no-wait 'Return once the command is published, without waiting for a reply'
            cand --json 'Print JSON on stdout instead of text'
            cand -v 'Trace the MQTT exchange on stderr (never shows a password)'
            cand --verbose 'Trace the MQTT exchange on stderr (never shows a password)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'tasctl;watch'= {
            cand --prefix 'Message classes to show [default: stat and tele]'
            cand --only 'Only these suffixes (POWER, RESULT, SENSOR, ...)'
            cand --topic 'Raw MQTT filters to watch as well'
            cand -n 'Stop after this many messages'
            cand --count 'Stop after this many messages'
            cand --for 'Stop after this long'
            cand --session 'Keep a persistent session under this name, so nothing is lost between runs'
            cand -b 'Broker URL: mqtt://[user@]host[:port] or mqtts://... [default: mqtt://localhost:1883]'
            cand --broker 'Broker URL: mqtt://[user@]host[:port] or mqtts://... [default: mqtt://localhost:1883]'
            cand -u 'User name for the broker'
            cand --username 'User name for the broker'
            cand -P 'Password for the broker; prefer the TASCTL_PASSWORD variable or `password_file` in the profile, which keep it out of the process list and shell history'
            cand --password 'Password for the broker; prefer the TASCTL_PASSWORD variable or `password_file` in the profile, which keep it out of the process list and shell history'
            cand --connect-timeout 'How long to wait for the broker to accept the connection [default: 5s]'
            cand --qos 'QoS of what tasctl publishes and subscribes [default: 0]'
            cand --profile 'Profile file [default: <config dir>/tasctl/profile.toml]'
            cand -w 'How long to wait for devices to answer, like 500ms, 2s, 1m [default: 2s]'
            cand --wait 'How long to wait for devices to answer, like 500ms, 2s, 1m [default: 2s]'
            cand --color 'When to colour the output'
            cand --json 'Print JSON on stdout instead of text'
            cand -v 'Trace the MQTT exchange on stderr (never shows a password)'
            cand --verbose 'Trace the MQTT exchange on stderr (never shows a password)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'tasctl;discover'= {
            cand -b 'Broker URL: mqtt://[user@]host[:port] or mqtts://... [default: mqtt://localhost:1883]'
            cand --broker 'Broker URL: mqtt://[user@]host[:port] or mqtts://... [default: mqtt://localhost:1883]'
            cand -u 'User name for the broker'
            cand --username 'User name for the broker'
            cand -P 'Password for the broker; prefer the TASCTL_PASSWORD variable or `password_file` in the profile, which keep it out of the process list and shell history'
            cand --password 'Password for the broker; prefer the TASCTL_PASSWORD variable or `password_file` in the profile, which keep it out of the process list and shell history'
            cand --connect-timeout 'How long to wait for the broker to accept the connection [default: 5s]'
            cand --qos 'QoS of what tasctl publishes and subscribes [default: 0]'
            cand --profile 'Profile file [default: <config dir>/tasctl/profile.toml]'
            cand -w 'How long to wait for devices to answer, like 500ms, 2s, 1m [default: 2s]'
            cand --wait 'How long to wait for devices to answer, like 500ms, 2s, 1m [default: 2s]'
            cand --color 'When to colour the output'
            cand --save 'Add what was found to the profile, keeping its comments'
            cand --json 'Print JSON on stdout instead of text'
            cand -v 'Trace the MQTT exchange on stderr (never shows a password)'
            cand --verbose 'Trace the MQTT exchange on stderr (never shows a password)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'tasctl;profile'= {
            cand -b 'Broker URL: mqtt://[user@]host[:port] or mqtts://... [default: mqtt://localhost:1883]'
            cand --broker 'Broker URL: mqtt://[user@]host[:port] or mqtts://... [default: mqtt://localhost:1883]'
            cand -u 'User name for the broker'
            cand --username 'User name for the broker'
            cand -P 'Password for the broker; prefer the TASCTL_PASSWORD variable or `password_file` in the profile, which keep it out of the process list and shell history'
            cand --password 'Password for the broker; prefer the TASCTL_PASSWORD variable or `password_file` in the profile, which keep it out of the process list and shell history'
            cand --connect-timeout 'How long to wait for the broker to accept the connection [default: 5s]'
            cand --qos 'QoS of what tasctl publishes and subscribes [default: 0]'
            cand --profile 'Profile file [default: <config dir>/tasctl/profile.toml]'
            cand -w 'How long to wait for devices to answer, like 500ms, 2s, 1m [default: 2s]'
            cand --wait 'How long to wait for devices to answer, like 500ms, 2s, 1m [default: 2s]'
            cand --color 'When to colour the output'
            cand --json 'Print JSON on stdout instead of text'
            cand -v 'Trace the MQTT exchange on stderr (never shows a password)'
            cand --verbose 'Trace the MQTT exchange on stderr (never shows a password)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand list 'List the devices and groups'
            cand path 'Print the profile''s path'
            cand add 'Add a device: NAME = TOPIC'
            cand remove 'Remove a device or group'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'tasctl;profile;list'= {
            cand -b 'Broker URL: mqtt://[user@]host[:port] or mqtts://... [default: mqtt://localhost:1883]'
            cand --broker 'Broker URL: mqtt://[user@]host[:port] or mqtts://... [default: mqtt://localhost:1883]'
            cand -u 'User name for the broker'
            cand --username 'User name for the broker'
            cand -P 'Password for the broker; prefer the TASCTL_PASSWORD variable or `password_file` in the profile, which keep it out of the process list and shell history'
            cand --password 'Password for the broker; prefer the TASCTL_PASSWORD variable or `password_file` in the profile, which keep it out of the process list and shell history'
            cand --connect-timeout 'How long to wait for the broker to accept the connection [default: 5s]'
            cand --qos 'QoS of what tasctl publishes and subscribes [default: 0]'
            cand --profile 'Profile file [default: <config dir>/tasctl/profile.toml]'
            cand -w 'How long to wait for devices to answer, like 500ms, 2s, 1m [default: 2s]'
            cand --wait 'How long to wait for devices to answer, like 500ms, 2s, 1m [default: 2s]'
            cand --color 'When to colour the output'
            cand --json 'Print JSON on stdout instead of text'
            cand -v 'Trace the MQTT exchange on stderr (never shows a password)'
            cand --verbose 'Trace the MQTT exchange on stderr (never shows a password)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'tasctl;profile;path'= {
            cand -b 'Broker URL: mqtt://[user@]host[:port] or mqtts://... [default: mqtt://localhost:1883]'
            cand --broker 'Broker URL: mqtt://[user@]host[:port] or mqtts://... [default: mqtt://localhost:1883]'
            cand -u 'User name for the broker'
            cand --username 'User name for the broker'
            cand -P 'Password for the broker; prefer the TASCTL_PASSWORD variable or `password_file` in the profile, which keep it out of the process list and shell history'
            cand --password 'Password for the broker; prefer the TASCTL_PASSWORD variable or `password_file` in the profile, which keep it out of the process list and shell history'
            cand --connect-timeout 'How long to wait for the broker to accept the connection [default: 5s]'
            cand --qos 'QoS of what tasctl publishes and subscribes [default: 0]'
            cand --profile 'Profile file [default: <config dir>/tasctl/profile.toml]'
            cand -w 'How long to wait for devices to answer, like 500ms, 2s, 1m [default: 2s]'
            cand --wait 'How long to wait for devices to answer, like 500ms, 2s, 1m [default: 2s]'
            cand --color 'When to colour the output'
            cand --json 'Print JSON on stdout instead of text'
            cand -v 'Trace the MQTT exchange on stderr (never shows a password)'
            cand --verbose 'Trace the MQTT exchange on stderr (never shows a password)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'tasctl;profile;add'= {
            cand -b 'Broker URL: mqtt://[user@]host[:port] or mqtts://... [default: mqtt://localhost:1883]'
            cand --broker 'Broker URL: mqtt://[user@]host[:port] or mqtts://... [default: mqtt://localhost:1883]'
            cand -u 'User name for the broker'
            cand --username 'User name for the broker'
            cand -P 'Password for the broker; prefer the TASCTL_PASSWORD variable or `password_file` in the profile, which keep it out of the process list and shell history'
            cand --password 'Password for the broker; prefer the TASCTL_PASSWORD variable or `password_file` in the profile, which keep it out of the process list and shell history'
            cand --connect-timeout 'How long to wait for the broker to accept the connection [default: 5s]'
            cand --qos 'QoS of what tasctl publishes and subscribes [default: 0]'
            cand --profile 'Profile file [default: <config dir>/tasctl/profile.toml]'
            cand -w 'How long to wait for devices to answer, like 500ms, 2s, 1m [default: 2s]'
            cand --wait 'How long to wait for devices to answer, like 500ms, 2s, 1m [default: 2s]'
            cand --color 'When to colour the output'
            cand --json 'Print JSON on stdout instead of text'
            cand -v 'Trace the MQTT exchange on stderr (never shows a password)'
            cand --verbose 'Trace the MQTT exchange on stderr (never shows a password)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'tasctl;profile;remove'= {
            cand -b 'Broker URL: mqtt://[user@]host[:port] or mqtts://... [default: mqtt://localhost:1883]'
            cand --broker 'Broker URL: mqtt://[user@]host[:port] or mqtts://... [default: mqtt://localhost:1883]'
            cand -u 'User name for the broker'
            cand --username 'User name for the broker'
            cand -P 'Password for the broker; prefer the TASCTL_PASSWORD variable or `password_file` in the profile, which keep it out of the process list and shell history'
            cand --password 'Password for the broker; prefer the TASCTL_PASSWORD variable or `password_file` in the profile, which keep it out of the process list and shell history'
            cand --connect-timeout 'How long to wait for the broker to accept the connection [default: 5s]'
            cand --qos 'QoS of what tasctl publishes and subscribes [default: 0]'
            cand --profile 'Profile file [default: <config dir>/tasctl/profile.toml]'
            cand -w 'How long to wait for devices to answer, like 500ms, 2s, 1m [default: 2s]'
            cand --wait 'How long to wait for devices to answer, like 500ms, 2s, 1m [default: 2s]'
            cand --color 'When to colour the output'
            cand --json 'Print JSON on stdout instead of text'
            cand -v 'Trace the MQTT exchange on stderr (never shows a password)'
            cand --verbose 'Trace the MQTT exchange on stderr (never shows a password)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'tasctl;profile;help'= {
            cand list 'List the devices and groups'
            cand path 'Print the profile''s path'
            cand add 'Add a device: NAME = TOPIC'
            cand remove 'Remove a device or group'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'tasctl;profile;help;list'= {
        }
        &'tasctl;profile;help;path'= {
        }
        &'tasctl;profile;help;add'= {
        }
        &'tasctl;profile;help;remove'= {
        }
        &'tasctl;profile;help;help'= {
        }
        &'tasctl;completions'= {
            cand -b 'Broker URL: mqtt://[user@]host[:port] or mqtts://... [default: mqtt://localhost:1883]'
            cand --broker 'Broker URL: mqtt://[user@]host[:port] or mqtts://... [default: mqtt://localhost:1883]'
            cand -u 'User name for the broker'
            cand --username 'User name for the broker'
            cand -P 'Password for the broker; prefer the TASCTL_PASSWORD variable or `password_file` in the profile, which keep it out of the process list and shell history'
            cand --password 'Password for the broker; prefer the TASCTL_PASSWORD variable or `password_file` in the profile, which keep it out of the process list and shell history'
            cand --connect-timeout 'How long to wait for the broker to accept the connection [default: 5s]'
            cand --qos 'QoS of what tasctl publishes and subscribes [default: 0]'
            cand --profile 'Profile file [default: <config dir>/tasctl/profile.toml]'
            cand -w 'How long to wait for devices to answer, like 500ms, 2s, 1m [default: 2s]'
            cand --wait 'How long to wait for devices to answer, like 500ms, 2s, 1m [default: 2s]'
            cand --color 'When to colour the output'
            cand --json 'Print JSON on stdout instead of text'
            cand -v 'Trace the MQTT exchange on stderr (never shows a password)'
            cand --verbose 'Trace the MQTT exchange on stderr (never shows a password)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'tasctl;manpage'= {
            cand -b 'Broker URL: mqtt://[user@]host[:port] or mqtts://... [default: mqtt://localhost:1883]'
            cand --broker 'Broker URL: mqtt://[user@]host[:port] or mqtts://... [default: mqtt://localhost:1883]'
            cand -u 'User name for the broker'
            cand --username 'User name for the broker'
            cand -P 'Password for the broker; prefer the TASCTL_PASSWORD variable or `password_file` in the profile, which keep it out of the process list and shell history'
            cand --password 'Password for the broker; prefer the TASCTL_PASSWORD variable or `password_file` in the profile, which keep it out of the process list and shell history'
            cand --connect-timeout 'How long to wait for the broker to accept the connection [default: 5s]'
            cand --qos 'QoS of what tasctl publishes and subscribes [default: 0]'
            cand --profile 'Profile file [default: <config dir>/tasctl/profile.toml]'
            cand -w 'How long to wait for devices to answer, like 500ms, 2s, 1m [default: 2s]'
            cand --wait 'How long to wait for devices to answer, like 500ms, 2s, 1m [default: 2s]'
            cand --color 'When to colour the output'
            cand --json 'Print JSON on stdout instead of text'
            cand -v 'Trace the MQTT exchange on stderr (never shows a password)'
            cand --verbose 'Trace the MQTT exchange on stderr (never shows a password)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'tasctl;simulate'= {
            cand --devices 'How many default devices to run'
            cand --scenario 'A TOML file describing the devices'
            cand --flood 'Once ready, publish this many STATE telemetry messages as fast as possible (load tests)'
            cand --listen 'Where the embedded broker listens'
            cand -b 'Broker URL: mqtt://[user@]host[:port] or mqtts://... [default: mqtt://localhost:1883]'
            cand --broker 'Broker URL: mqtt://[user@]host[:port] or mqtts://... [default: mqtt://localhost:1883]'
            cand -u 'User name for the broker'
            cand --username 'User name for the broker'
            cand -P 'Password for the broker; prefer the TASCTL_PASSWORD variable or `password_file` in the profile, which keep it out of the process list and shell history'
            cand --password 'Password for the broker; prefer the TASCTL_PASSWORD variable or `password_file` in the profile, which keep it out of the process list and shell history'
            cand --connect-timeout 'How long to wait for the broker to accept the connection [default: 5s]'
            cand --qos 'QoS of what tasctl publishes and subscribes [default: 0]'
            cand --profile 'Profile file [default: <config dir>/tasctl/profile.toml]'
            cand -w 'How long to wait for devices to answer, like 500ms, 2s, 1m [default: 2s]'
            cand --wait 'How long to wait for devices to answer, like 500ms, 2s, 1m [default: 2s]'
            cand --color 'When to colour the output'
            cand --fleet 'Put every device on one connection (for hundreds or thousands of devices)'
            cand --embedded 'Run an MQTT broker inside the process (for trying tasctl out)'
            cand --json 'Print JSON on stdout instead of text'
            cand -v 'Trace the MQTT exchange on stderr (never shows a password)'
            cand --verbose 'Trace the MQTT exchange on stderr (never shows a password)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'tasctl;help'= {
            cand power 'Switch or read an output and wait for the device to confirm'
            cand status 'Ask devices for their status (`Status N`) and gather every reply'
            cand send 'Send any firmware command and print the reply'
            cand watch 'Tail live stat/tele traffic, by device name'
            cand discover 'Find the devices on the broker'
            cand profile 'Read and edit the profile'
            cand completions 'Print a shell completion script'
            cand manpage 'Print the man page (roff)'
            cand simulate 'Run virtual Tasmota devices that answer like the firmware'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'tasctl;help;power'= {
        }
        &'tasctl;help;status'= {
        }
        &'tasctl;help;send'= {
        }
        &'tasctl;help;watch'= {
        }
        &'tasctl;help;discover'= {
        }
        &'tasctl;help;profile'= {
            cand list 'List the devices and groups'
            cand path 'Print the profile''s path'
            cand add 'Add a device: NAME = TOPIC'
            cand remove 'Remove a device or group'
        }
        &'tasctl;help;profile;list'= {
        }
        &'tasctl;help;profile;path'= {
        }
        &'tasctl;help;profile;add'= {
        }
        &'tasctl;help;profile;remove'= {
        }
        &'tasctl;help;completions'= {
        }
        &'tasctl;help;manpage'= {
        }
        &'tasctl;help;simulate'= {
        }
        &'tasctl;help;help'= {
        }
    ]
    $completions[$command]
}
