
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'tasctl' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'tasctl'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'tasctl' {
            [CompletionResult]::new('-b', '-b', [CompletionResultType]::ParameterName, 'Broker URL: mqtt://[user@]host[:port] or mqtts://... [default: mqtt://localhost:1883]')
            [CompletionResult]::new('--broker', '--broker', [CompletionResultType]::ParameterName, 'Broker URL: mqtt://[user@]host[:port] or mqtts://... [default: mqtt://localhost:1883]')
            [CompletionResult]::new('-u', '-u', [CompletionResultType]::ParameterName, 'User name for the broker')
            [CompletionResult]::new('--username', '--username', [CompletionResultType]::ParameterName, 'User name for the broker')
            [CompletionResult]::new('-P', '-P ', [CompletionResultType]::ParameterName, 'Password for the broker; prefer the TASCTL_PASSWORD variable or `password_file` in the profile, which keep it out of the process list and shell history')
            [CompletionResult]::new('--password', '--password', [CompletionResultType]::ParameterName, 'Password for the broker; prefer the TASCTL_PASSWORD variable or `password_file` in the profile, which keep it out of the process list and shell history')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'How long to wait for the broker to accept the connection [default: 5s]')
            [CompletionResult]::new('--qos', '--qos', [CompletionResultType]::ParameterName, 'QoS of what tasctl publishes and subscribes [default: 0]')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Profile file [default: <config dir>/tasctl/profile.toml]')
            [CompletionResult]::new('-w', '-w', [CompletionResultType]::ParameterName, 'How long to wait for devices to answer, like 500ms, 2s, 1m [default: 2s]')
            [CompletionResult]::new('--wait', '--wait', [CompletionResultType]::ParameterName, 'How long to wait for devices to answer, like 500ms, 2s, 1m [default: 2s]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON on stdout instead of text')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Trace the MQTT exchange on stderr (never shows a password)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Trace the MQTT exchange on stderr (never shows a password)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('power', 'power', [CompletionResultType]::ParameterValue, 'Switch or read an output and wait for the device to confirm')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Ask devices for their status (`Status N`) and gather every reply')
            [CompletionResult]::new('send', 'send', [CompletionResultType]::ParameterValue, 'Send any firmware command and print the reply')
            [CompletionResult]::new('watch', 'watch', [CompletionResultType]::ParameterValue, 'Tail live stat/tele traffic, by device name')
            [CompletionResult]::new('discover', 'discover', [CompletionResultType]::ParameterValue, 'Find the devices on the broker')
            [CompletionResult]::new('profile', 'profile', [CompletionResultType]::ParameterValue, 'Read and edit the profile')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('manpage', 'manpage', [CompletionResultType]::ParameterValue, 'Print the man page (roff)')
            [CompletionResult]::new('simulate', 'simulate', [CompletionResultType]::ParameterValue, 'Run virtual Tasmota devices that answer like the firmware')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'tasctl;power' {
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'Which output: a number (Power2) or `all` (Power0) [default: the first]')
            [CompletionResult]::new('--relay', '--relay', [CompletionResultType]::ParameterName, 'Which output: a number (Power2) or `all` (Power0) [default: the first]')
            [CompletionResult]::new('-b', '-b', [CompletionResultType]::ParameterName, 'Broker URL: mqtt://[user@]host[:port] or mqtts://... [default: mqtt://localhost:1883]')
            [CompletionResult]::new('--broker', '--broker', [CompletionResultType]::ParameterName, 'Broker URL: mqtt://[user@]host[:port] or mqtts://... [default: mqtt://localhost:1883]')
            [CompletionResult]::new('-u', '-u', [CompletionResultType]::ParameterName, 'User name for the broker')
            [CompletionResult]::new('--username', '--username', [CompletionResultType]::ParameterName, 'User name for the broker')
            [CompletionResult]::new('-P', '-P ', [CompletionResultType]::ParameterName, 'Password for the broker; prefer the TASCTL_PASSWORD variable or `password_file` in the profile, which keep it out of the process list and shell history')
            [CompletionResult]::new('--password', '--password', [CompletionResultType]::ParameterName, 'Password for the broker; prefer the TASCTL_PASSWORD variable or `password_file` in the profile, which keep it out of the process list and shell history')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'How long to wait for the broker to accept the connection [default: 5s]')
            [CompletionResult]::new('--qos', '--qos', [CompletionResultType]::ParameterName, 'QoS of what tasctl publishes and subscribes [default: 0]')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Profile file [default: <config dir>/tasctl/profile.toml]')
            [CompletionResult]::new('-w', '-w', [CompletionResultType]::ParameterName, 'How long to wait for devices to answer, like 500ms, 2s, 1m [default: 2s]')
            [CompletionResult]::new('--wait', '--wait', [CompletionResultType]::ParameterName, 'How long to wait for devices to answer, like 500ms, 2s, 1m [default: 2s]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON on stdout instead of text')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Trace the MQTT exchange on stderr (never shows a password)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Trace the MQTT exchange on stderr (never shows a password)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'tasctl;status' {
            [CompletionResult]::new('-s', '-s', [CompletionResultType]::ParameterName, 'Which section: 0 for all, or 1-13 (11 is the live state)')
            [CompletionResult]::new('--section', '--section', [CompletionResultType]::ParameterName, 'Which section: 0 for all, or 1-13 (11 is the live state)')
            [CompletionResult]::new('-b', '-b', [CompletionResultType]::ParameterName, 'Broker URL: mqtt://[user@]host[:port] or mqtts://... [default: mqtt://localhost:1883]')
            [CompletionResult]::new('--broker', '--broker', [CompletionResultType]::ParameterName, 'Broker URL: mqtt://[user@]host[:port] or mqtts://... [default: mqtt://localhost:1883]')
            [CompletionResult]::new('-u', '-u', [CompletionResultType]::ParameterName, 'User name for the broker')
            [CompletionResult]::new('--username', '--username', [CompletionResultType]::ParameterName, 'User name for the broker')
            [CompletionResult]::new('-P', '-P ', [CompletionResultType]::ParameterName, 'Password for the broker; prefer the TASCTL_PASSWORD variable or `password_file` in the profile, which keep it out of the process list and shell history')
            [CompletionResult]::new('--password', '--password', [CompletionResultType]::ParameterName, 'Password for the broker; prefer the TASCTL_PASSWORD variable or `password_file` in the profile, which keep it out of the process list and shell history')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'How long to wait for the broker to accept the connection [default: 5s]')
            [CompletionResult]::new('--qos', '--qos', [CompletionResultType]::ParameterName, 'QoS of what tasctl publishes and subscribes [default: 0]')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Profile file [default: <config dir>/tasctl/profile.toml]')
            [CompletionResult]::new('-w', '-w', [CompletionResultType]::ParameterName, 'How long to wait for devices to answer, like 500ms, 2s, 1m [default: 2s]')
            [CompletionResult]::new('--wait', '--wait', [CompletionResultType]::ParameterName, 'How long to wait for devices to answer, like 500ms, 2s, 1m [default: 2s]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON on stdout instead of text')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Trace the MQTT exchange on stderr (never shows a password)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Trace the MQTT exchange on stderr (never shows a password)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'tasctl;send' {
            [CompletionResult]::new('-b', '-b', [CompletionResultType]::ParameterName, 'Broker URL: mqtt://[user@]host[:port] or mqtts://... [default: mqtt://localhost:1883]')
            [CompletionResult]::new('--broker', '--broker', [CompletionResultType]::ParameterName, 'Broker URL: mqtt://[user@]host[:port] or mqtts://... [default: mqtt://localhost:1883]')
            [CompletionResult]::new('-u', '-u', [CompletionResultType]::ParameterName, 'User name for the broker')
            [CompletionResult]::new('--username', '--username', [CompletionResultType]::ParameterName, 'User name for the broker')
            [CompletionResult]::new('-P', '-P ', [CompletionResultType]::ParameterName, 'Password for the broker; prefer the TASCTL_PASSWORD variable or `password_file` in the profile, which keep it out of the process list and shell history')
            [CompletionResult]::new('--password', '--password', [CompletionResultType]::ParameterName, 'Password for the broker; prefer the TASCTL_PASSWORD variable or `password_file` in the profile, which keep it out of the process list and shell history')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'How long to wait for the broker to accept the connection [default: 5s]')
            [CompletionResult]::new('--qos', '--qos', [CompletionResultType]::ParameterName, 'QoS of what tasctl publishes and subscribes [default: 0]')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Profile file [default: <config dir>/tasctl/profile.toml]')
            [CompletionResult]::new('-w', '-w', [CompletionResultType]::ParameterName, 'How long to wait for devices to answer, like 500ms, 2s, 1m [default: 2s]')
            [CompletionResult]::new('--wait', '--wait', [CompletionResultType]::ParameterName, 'How long to wait for devices to answer, like 500ms, 2s, 1m [default: 2s]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output')
            [CompletionResult]::new('--no-wait', '--no-wait', [CompletionResultType]::ParameterName, 'Return once the command is published, without waiting for a reply')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON on stdout instead of text')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Trace the MQTT exchange on stderr (never shows a password)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Trace the MQTT exchange on stderr (never shows a password)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'tasctl;watch' {
            [CompletionResult]::new('--prefix', '--prefix', [CompletionResultType]::ParameterName, 'Message classes to show [default: stat and tele]')
            [CompletionResult]::new('--only', '--only', [CompletionResultType]::ParameterName, 'Only these suffixes (POWER, RESULT, SENSOR, ...)')
            [CompletionResult]::new('--topic', '--topic', [CompletionResultType]::ParameterName, 'Raw MQTT filters to watch as well')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Stop after this many messages')
            [CompletionResult]::new('--count', '--count', [CompletionResultType]::ParameterName, 'Stop after this many messages')
            [CompletionResult]::new('--for', '--for', [CompletionResultType]::ParameterName, 'Stop after this long')
            [CompletionResult]::new('--session', '--session', [CompletionResultType]::ParameterName, 'Keep a persistent session under this name, so nothing is lost between runs')
            [CompletionResult]::new('-b', '-b', [CompletionResultType]::ParameterName, 'Broker URL: mqtt://[user@]host[:port] or mqtts://... [default: mqtt://localhost:1883]')
            [CompletionResult]::new('--broker', '--broker', [CompletionResultType]::ParameterName, 'Broker URL: mqtt://[user@]host[:port] or mqtts://... [default: mqtt://localhost:1883]')
            [CompletionResult]::new('-u', '-u', [CompletionResultType]::ParameterName, 'User name for the broker')
            [CompletionResult]::new('--username', '--username', [CompletionResultType]::ParameterName, 'User name for the broker')
            [CompletionResult]::new('-P', '-P ', [CompletionResultType]::ParameterName, 'Password for the broker; prefer the TASCTL_PASSWORD variable or `password_file` in the profile, which keep it out of the process list and shell history')
            [CompletionResult]::new('--password', '--password', [CompletionResultType]::ParameterName, 'Password for the broker; prefer the TASCTL_PASSWORD variable or `password_file` in the profile, which keep it out of the process list and shell history')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'How long to wait for the broker to accept the connection [default: 5s]')
            [CompletionResult]::new('--qos', '--qos', [CompletionResultType]::ParameterName, 'QoS of what tasctl publishes and subscribes [default: 0]')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Profile file [default: <config dir>/tasctl/profile.toml]')
            [CompletionResult]::new('-w', '-w', [CompletionResultType]::ParameterName, 'How long to wait for devices to answer, like 500ms, 2s, 1m [default: 2s]')
            [CompletionResult]::new('--wait', '--wait', [CompletionResultType]::ParameterName, 'How long to wait for devices to answer, like 500ms, 2s, 1m [default: 2s]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON on stdout instead of text')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Trace the MQTT exchange on stderr (never shows a password)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Trace the MQTT exchange on stderr (never shows a password)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'tasctl;discover' {
            [CompletionResult]::new('-b', '-b', [CompletionResultType]::ParameterName, 'Broker URL: mqtt://[user@]host[:port] or mqtts://... [default: mqtt://localhost:1883]')
            [CompletionResult]::new('--broker', '--broker', [CompletionResultType]::ParameterName, 'Broker URL: mqtt://[user@]host[:port] or mqtts://... [default: mqtt://localhost:1883]')
            [CompletionResult]::new('-u', '-u', [CompletionResultType]::ParameterName, 'User name for the broker')
            [CompletionResult]::new('--username', '--username', [CompletionResultType]::ParameterName, 'User name for the broker')
            [CompletionResult]::new('-P', '-P ', [CompletionResultType]::ParameterName, 'Password for the broker; prefer the TASCTL_PASSWORD variable or `password_file` in the profile, which keep it out of the process list and shell history')
            [CompletionResult]::new('--password', '--password', [CompletionResultType]::ParameterName, 'Password for the broker; prefer the TASCTL_PASSWORD variable or `password_file` in the profile, which keep it out of the process list and shell history')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'How long to wait for the broker to accept the connection [default: 5s]')
            [CompletionResult]::new('--qos', '--qos', [CompletionResultType]::ParameterName, 'QoS of what tasctl publishes and subscribes [default: 0]')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Profile file [default: <config dir>/tasctl/profile.toml]')
            [CompletionResult]::new('-w', '-w', [CompletionResultType]::ParameterName, 'How long to wait for devices to answer, like 500ms, 2s, 1m [default: 2s]')
            [CompletionResult]::new('--wait', '--wait', [CompletionResultType]::ParameterName, 'How long to wait for devices to answer, like 500ms, 2s, 1m [default: 2s]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output')
            [CompletionResult]::new('--save', '--save', [CompletionResultType]::ParameterName, 'Add what was found to the profile, keeping its comments')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON on stdout instead of text')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Trace the MQTT exchange on stderr (never shows a password)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Trace the MQTT exchange on stderr (never shows a password)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'tasctl;profile' {
            [CompletionResult]::new('-b', '-b', [CompletionResultType]::ParameterName, 'Broker URL: mqtt://[user@]host[:port] or mqtts://... [default: mqtt://localhost:1883]')
            [CompletionResult]::new('--broker', '--broker', [CompletionResultType]::ParameterName, 'Broker URL: mqtt://[user@]host[:port] or mqtts://... [default: mqtt://localhost:1883]')
            [CompletionResult]::new('-u', '-u', [CompletionResultType]::ParameterName, 'User name for the broker')
            [CompletionResult]::new('--username', '--username', [CompletionResultType]::ParameterName, 'User name for the broker')
            [CompletionResult]::new('-P', '-P ', [CompletionResultType]::ParameterName, 'Password for the broker; prefer the TASCTL_PASSWORD variable or `password_file` in the profile, which keep it out of the process list and shell history')
            [CompletionResult]::new('--password', '--password', [CompletionResultType]::ParameterName, 'Password for the broker; prefer the TASCTL_PASSWORD variable or `password_file` in the profile, which keep it out of the process list and shell history')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'How long to wait for the broker to accept the connection [default: 5s]')
            [CompletionResult]::new('--qos', '--qos', [CompletionResultType]::ParameterName, 'QoS of what tasctl publishes and subscribes [default: 0]')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Profile file [default: <config dir>/tasctl/profile.toml]')
            [CompletionResult]::new('-w', '-w', [CompletionResultType]::ParameterName, 'How long to wait for devices to answer, like 500ms, 2s, 1m [default: 2s]')
            [CompletionResult]::new('--wait', '--wait', [CompletionResultType]::ParameterName, 'How long to wait for devices to answer, like 500ms, 2s, 1m [default: 2s]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON on stdout instead of text')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Trace the MQTT exchange on stderr (never shows a password)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Trace the MQTT exchange on stderr (never shows a password)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the devices and groups')
            [CompletionResult]::new('path', 'path', [CompletionResultType]::ParameterValue, 'Print the profile''s path')
            [CompletionResult]::new('add', 'add', [CompletionResultType]::ParameterValue, 'Add a device: NAME = TOPIC')
            [CompletionResult]::new('remove', 'remove', [CompletionResultType]::ParameterValue, 'Remove a device or group')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'tasctl;profile;list' {
            [CompletionResult]::new('-b', '-b', [CompletionResultType]::ParameterName, 'Broker URL: mqtt://[user@]host[:port] or mqtts://... [default: mqtt://localhost:1883]')
            [CompletionResult]::new('--broker', '--broker', [CompletionResultType]::ParameterName, 'Broker URL: mqtt://[user@]host[:port] or mqtts://... [default: mqtt://localhost:1883]')
            [CompletionResult]::new('-u', '-u', [CompletionResultType]::ParameterName, 'User name for the broker')
            [CompletionResult]::new('--username', '--username', [CompletionResultType]::ParameterName, 'User name for the broker')
            [CompletionResult]::new('-P', '-P ', [CompletionResultType]::ParameterName, 'Password for the broker; prefer the TASCTL_PASSWORD variable or `password_file` in the profile, which keep it out of the process list and shell history')
            [CompletionResult]::new('--password', '--password', [CompletionResultType]::ParameterName, 'Password for the broker; prefer the TASCTL_PASSWORD variable or `password_file` in the profile, which keep it out of the process list and shell history')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'How long to wait for the broker to accept the connection [default: 5s]')
            [CompletionResult]::new('--qos', '--qos', [CompletionResultType]::ParameterName, 'QoS of what tasctl publishes and subscribes [default: 0]')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Profile file [default: <config dir>/tasctl/profile.toml]')
            [CompletionResult]::new('-w', '-w', [CompletionResultType]::ParameterName, 'How long to wait for devices to answer, like 500ms, 2s, 1m [default: 2s]')
            [CompletionResult]::new('--wait', '--wait', [CompletionResultType]::ParameterName, 'How long to wait for devices to answer, like 500ms, 2s, 1m [default: 2s]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON on stdout instead of text')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Trace the MQTT exchange on stderr (never shows a password)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Trace the MQTT exchange on stderr (never shows a password)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'tasctl;profile;path' {
            [CompletionResult]::new('-b', '-b', [CompletionResultType]::ParameterName, 'Broker URL: mqtt://[user@]host[:port] or mqtts://... [default: mqtt://localhost:1883]')
            [CompletionResult]::new('--broker', '--broker', [CompletionResultType]::ParameterName, 'Broker URL: mqtt://[user@]host[:port] or mqtts://... [default: mqtt://localhost:1883]')
            [CompletionResult]::new('-u', '-u', [CompletionResultType]::ParameterName, 'User name for the broker')
            [CompletionResult]::new('--username', '--username', [CompletionResultType]::ParameterName, 'User name for the broker')
            [CompletionResult]::new('-P', '-P ', [CompletionResultType]::ParameterName, 'Password for the broker; prefer the TASCTL_PASSWORD variable or `password_file` in the profile, which keep it out of the process list and shell history')
            [CompletionResult]::new('--password', '--password', [CompletionResultType]::ParameterName, 'Password for the broker; prefer the TASCTL_PASSWORD variable or `password_file` in the profile, which keep it out of the process list and shell history')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'How long to wait for the broker to accept the connection [default: 5s]')
            [CompletionResult]::new('--qos', '--qos', [CompletionResultType]::ParameterName, 'QoS of what tasctl publishes and subscribes [default: 0]')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Profile file [default: <config dir>/tasctl/profile.toml]')
            [CompletionResult]::new('-w', '-w', [CompletionResultType]::ParameterName, 'How long to wait for devices to answer, like 500ms, 2s, 1m [default: 2s]')
            [CompletionResult]::new('--wait', '--wait', [CompletionResultType]::ParameterName, 'How long to wait for devices to answer, like 500ms, 2s, 1m [default: 2s]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON on stdout instead of text')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Trace the MQTT exchange on stderr (never shows a password)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Trace the MQTT exchange on stderr (never shows a password)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'tasctl;profile;add' {
            [CompletionResult]::new('-b', '-b', [CompletionResultType]::ParameterName, 'Broker URL: mqtt://[user@]host[:port] or mqtts://... [default: mqtt://localhost:1883]')
            [CompletionResult]::new('--broker', '--broker', [CompletionResultType]::ParameterName, 'Broker URL: mqtt://[user@]host[:port] or mqtts://... [default: mqtt://localhost:1883]')
            [CompletionResult]::new('-u', '-u', [CompletionResultType]::ParameterName, 'User name for the broker')
            [CompletionResult]::new('--username', '--username', [CompletionResultType]::ParameterName, 'User name for the broker')
            [CompletionResult]::new('-P', '-P ', [CompletionResultType]::ParameterName, 'Password for the broker; prefer the TASCTL_PASSWORD variable or `password_file` in the profile, which keep it out of the process list and shell history')
            [CompletionResult]::new('--password', '--password', [CompletionResultType]::ParameterName, 'Password for the broker; prefer the TASCTL_PASSWORD variable or `password_file` in the profile, which keep it out of the process list and shell history')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'How long to wait for the broker to accept the connection [default: 5s]')
            [CompletionResult]::new('--qos', '--qos', [CompletionResultType]::ParameterName, 'QoS of what tasctl publishes and subscribes [default: 0]')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Profile file [default: <config dir>/tasctl/profile.toml]')
            [CompletionResult]::new('-w', '-w', [CompletionResultType]::ParameterName, 'How long to wait for devices to answer, like 500ms, 2s, 1m [default: 2s]')
            [CompletionResult]::new('--wait', '--wait', [CompletionResultType]::ParameterName, 'How long to wait for devices to answer, like 500ms, 2s, 1m [default: 2s]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON on stdout instead of text')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Trace the MQTT exchange on stderr (never shows a password)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Trace the MQTT exchange on stderr (never shows a password)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'tasctl;profile;remove' {
            [CompletionResult]::new('-b', '-b', [CompletionResultType]::ParameterName, 'Broker URL: mqtt://[user@]host[:port] or mqtts://... [default: mqtt://localhost:1883]')
            [CompletionResult]::new('--broker', '--broker', [CompletionResultType]::ParameterName, 'Broker URL: mqtt://[user@]host[:port] or mqtts://... [default: mqtt://localhost:1883]')
            [CompletionResult]::new('-u', '-u', [CompletionResultType]::ParameterName, 'User name for the broker')
            [CompletionResult]::new('--username', '--username', [CompletionResultType]::ParameterName, 'User name for the broker')
            [CompletionResult]::new('-P', '-P ', [CompletionResultType]::ParameterName, 'Password for the broker; prefer the TASCTL_PASSWORD variable or `password_file` in the profile, which keep it out of the process list and shell history')
            [CompletionResult]::new('--password', '--password', [CompletionResultType]::ParameterName, 'Password for the broker; prefer the TASCTL_PASSWORD variable or `password_file` in the profile, which keep it out of the process list and shell history')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'How long to wait for the broker to accept the connection [default: 5s]')
            [CompletionResult]::new('--qos', '--qos', [CompletionResultType]::ParameterName, 'QoS of what tasctl publishes and subscribes [default: 0]')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Profile file [default: <config dir>/tasctl/profile.toml]')
            [CompletionResult]::new('-w', '-w', [CompletionResultType]::ParameterName, 'How long to wait for devices to answer, like 500ms, 2s, 1m [default: 2s]')
            [CompletionResult]::new('--wait', '--wait', [CompletionResultType]::ParameterName, 'How long to wait for devices to answer, like 500ms, 2s, 1m [default: 2s]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON on stdout instead of text')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Trace the MQTT exchange on stderr (never shows a password)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Trace the MQTT exchange on stderr (never shows a password)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'tasctl;profile;help' {
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the devices and groups')
            [CompletionResult]::new('path', 'path', [CompletionResultType]::ParameterValue, 'Print the profile''s path')
            [CompletionResult]::new('add', 'add', [CompletionResultType]::ParameterValue, 'Add a device: NAME = TOPIC')
            [CompletionResult]::new('remove', 'remove', [CompletionResultType]::ParameterValue, 'Remove a device or group')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'tasctl;profile;help;list' {
            break
        }
        'tasctl;profile;help;path' {
            break
        }
        'tasctl;profile;help;add' {
            break
        }
        'tasctl;profile;help;remove' {
            break
        }
        'tasctl;profile;help;help' {
            break
        }
        'tasctl;completions' {
            [CompletionResult]::new('-b', '-b', [CompletionResultType]::ParameterName, 'Broker URL: mqtt://[user@]host[:port] or mqtts://... [default: mqtt://localhost:1883]')
            [CompletionResult]::new('--broker', '--broker', [CompletionResultType]::ParameterName, 'Broker URL: mqtt://[user@]host[:port] or mqtts://... [default: mqtt://localhost:1883]')
            [CompletionResult]::new('-u', '-u', [CompletionResultType]::ParameterName, 'User name for the broker')
            [CompletionResult]::new('--username', '--username', [CompletionResultType]::ParameterName, 'User name for the broker')
            [CompletionResult]::new('-P', '-P ', [CompletionResultType]::ParameterName, 'Password for the broker; prefer the TASCTL_PASSWORD variable or `password_file` in the profile, which keep it out of the process list and shell history')
            [CompletionResult]::new('--password', '--password', [CompletionResultType]::ParameterName, 'Password for the broker; prefer the TASCTL_PASSWORD variable or `password_file` in the profile, which keep it out of the process list and shell history')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'How long to wait for the broker to accept the connection [default: 5s]')
            [CompletionResult]::new('--qos', '--qos', [CompletionResultType]::ParameterName, 'QoS of what tasctl publishes and subscribes [default: 0]')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Profile file [default: <config dir>/tasctl/profile.toml]')
            [CompletionResult]::new('-w', '-w', [CompletionResultType]::ParameterName, 'How long to wait for devices to answer, like 500ms, 2s, 1m [default: 2s]')
            [CompletionResult]::new('--wait', '--wait', [CompletionResultType]::ParameterName, 'How long to wait for devices to answer, like 500ms, 2s, 1m [default: 2s]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON on stdout instead of text')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Trace the MQTT exchange on stderr (never shows a password)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Trace the MQTT exchange on stderr (never shows a password)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'tasctl;manpage' {
            [CompletionResult]::new('-b', '-b', [CompletionResultType]::ParameterName, 'Broker URL: mqtt://[user@]host[:port] or mqtts://... [default: mqtt://localhost:1883]')
            [CompletionResult]::new('--broker', '--broker', [CompletionResultType]::ParameterName, 'Broker URL: mqtt://[user@]host[:port] or mqtts://... [default: mqtt://localhost:1883]')
            [CompletionResult]::new('-u', '-u', [CompletionResultType]::ParameterName, 'User name for the broker')
            [CompletionResult]::new('--username', '--username', [CompletionResultType]::ParameterName, 'User name for the broker')
            [CompletionResult]::new('-P', '-P ', [CompletionResultType]::ParameterName, 'Password for the broker; prefer the TASCTL_PASSWORD variable or `password_file` in the profile, which keep it out of the process list and shell history')
            [CompletionResult]::new('--password', '--password', [CompletionResultType]::ParameterName, 'Password for the broker; prefer the TASCTL_PASSWORD variable or `password_file` in the profile, which keep it out of the process list and shell history')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'How long to wait for the broker to accept the connection [default: 5s]')
            [CompletionResult]::new('--qos', '--qos', [CompletionResultType]::ParameterName, 'QoS of what tasctl publishes and subscribes [default: 0]')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Profile file [default: <config dir>/tasctl/profile.toml]')
            [CompletionResult]::new('-w', '-w', [CompletionResultType]::ParameterName, 'How long to wait for devices to answer, like 500ms, 2s, 1m [default: 2s]')
            [CompletionResult]::new('--wait', '--wait', [CompletionResultType]::ParameterName, 'How long to wait for devices to answer, like 500ms, 2s, 1m [default: 2s]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON on stdout instead of text')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Trace the MQTT exchange on stderr (never shows a password)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Trace the MQTT exchange on stderr (never shows a password)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'tasctl;simulate' {
            [CompletionResult]::new('--devices', '--devices', [CompletionResultType]::ParameterName, 'How many default devices to run')
            [CompletionResult]::new('--scenario', '--scenario', [CompletionResultType]::ParameterName, 'A TOML file describing the devices')
            [CompletionResult]::new('--flood', '--flood', [CompletionResultType]::ParameterName, 'Once ready, publish this many STATE telemetry messages as fast as possible (load tests)')
            [CompletionResult]::new('--listen', '--listen', [CompletionResultType]::ParameterName, 'Where the embedded broker listens')
            [CompletionResult]::new('-b', '-b', [CompletionResultType]::ParameterName, 'Broker URL: mqtt://[user@]host[:port] or mqtts://... [default: mqtt://localhost:1883]')
            [CompletionResult]::new('--broker', '--broker', [CompletionResultType]::ParameterName, 'Broker URL: mqtt://[user@]host[:port] or mqtts://... [default: mqtt://localhost:1883]')
            [CompletionResult]::new('-u', '-u', [CompletionResultType]::ParameterName, 'User name for the broker')
            [CompletionResult]::new('--username', '--username', [CompletionResultType]::ParameterName, 'User name for the broker')
            [CompletionResult]::new('-P', '-P ', [CompletionResultType]::ParameterName, 'Password for the broker; prefer the TASCTL_PASSWORD variable or `password_file` in the profile, which keep it out of the process list and shell history')
            [CompletionResult]::new('--password', '--password', [CompletionResultType]::ParameterName, 'Password for the broker; prefer the TASCTL_PASSWORD variable or `password_file` in the profile, which keep it out of the process list and shell history')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'How long to wait for the broker to accept the connection [default: 5s]')
            [CompletionResult]::new('--qos', '--qos', [CompletionResultType]::ParameterName, 'QoS of what tasctl publishes and subscribes [default: 0]')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Profile file [default: <config dir>/tasctl/profile.toml]')
            [CompletionResult]::new('-w', '-w', [CompletionResultType]::ParameterName, 'How long to wait for devices to answer, like 500ms, 2s, 1m [default: 2s]')
            [CompletionResult]::new('--wait', '--wait', [CompletionResultType]::ParameterName, 'How long to wait for devices to answer, like 500ms, 2s, 1m [default: 2s]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output')
            [CompletionResult]::new('--fleet', '--fleet', [CompletionResultType]::ParameterName, 'Put every device on one connection (for hundreds or thousands of devices)')
            [CompletionResult]::new('--embedded', '--embedded', [CompletionResultType]::ParameterName, 'Run an MQTT broker inside the process (for trying tasctl out)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON on stdout instead of text')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Trace the MQTT exchange on stderr (never shows a password)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Trace the MQTT exchange on stderr (never shows a password)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'tasctl;help' {
            [CompletionResult]::new('power', 'power', [CompletionResultType]::ParameterValue, 'Switch or read an output and wait for the device to confirm')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Ask devices for their status (`Status N`) and gather every reply')
            [CompletionResult]::new('send', 'send', [CompletionResultType]::ParameterValue, 'Send any firmware command and print the reply')
            [CompletionResult]::new('watch', 'watch', [CompletionResultType]::ParameterValue, 'Tail live stat/tele traffic, by device name')
            [CompletionResult]::new('discover', 'discover', [CompletionResultType]::ParameterValue, 'Find the devices on the broker')
            [CompletionResult]::new('profile', 'profile', [CompletionResultType]::ParameterValue, 'Read and edit the profile')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('manpage', 'manpage', [CompletionResultType]::ParameterValue, 'Print the man page (roff)')
            [CompletionResult]::new('simulate', 'simulate', [CompletionResultType]::ParameterValue, 'Run virtual Tasmota devices that answer like the firmware')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'tasctl;help;power' {
            break
        }
        'tasctl;help;status' {
            break
        }
        'tasctl;help;send' {
            break
        }
        'tasctl;help;watch' {
            break
        }
        'tasctl;help;discover' {
            break
        }
        'tasctl;help;profile' {
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the devices and groups')
            [CompletionResult]::new('path', 'path', [CompletionResultType]::ParameterValue, 'Print the profile''s path')
            [CompletionResult]::new('add', 'add', [CompletionResultType]::ParameterValue, 'Add a device: NAME = TOPIC')
            [CompletionResult]::new('remove', 'remove', [CompletionResultType]::ParameterValue, 'Remove a device or group')
            break
        }
        'tasctl;help;profile;list' {
            break
        }
        'tasctl;help;profile;path' {
            break
        }
        'tasctl;help;profile;add' {
            break
        }
        'tasctl;help;profile;remove' {
            break
        }
        'tasctl;help;completions' {
            break
        }
        'tasctl;help;manpage' {
            break
        }
        'tasctl;help;simulate' {
            break
        }
        'tasctl;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
