# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_tofu_global_optspecs
    string join \n config= v/verbose h/help V/version
end

function __fish_tofu_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_tofu_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_tofu_using_subcommand
    set -l cmd (__fish_tofu_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c tofu -n "__fish_tofu_needs_command" -l config -d 'Read defaults from this TOML file instead of ${XDG_CONFIG_HOME:-~/.config}/tofu/config.toml (configs/tofu.example.toml lists every key)' -r -F
complete -c tofu -n "__fish_tofu_needs_command" -s v -l verbose -d 'Under each error, and under each target that failed, show the chain of causes it was read from (the libraries\' own words)'
complete -c tofu -n "__fish_tofu_needs_command" -s h -l help -d 'Print help'
complete -c tofu -n "__fish_tofu_needs_command" -s V -l version -d 'Print version'
complete -c tofu -n "__fish_tofu_needs_command" -f -a "fetch" -d 'Fetch targets over one transport and write a signed transcript of what was seen'
complete -c tofu -n "__fish_tofu_needs_command" -f -a "verify" -d 'Check the format and signature of transcripts, and say who signed each'
complete -c tofu -n "__fish_tofu_needs_command" -f -a "compare" -d 'Compare transcripts of the same artifacts from different runs'
complete -c tofu -n "__fish_tofu_needs_command" -f -a "status" -d 'Show where a campaign stands: what agrees so far, which rules are unmet, and what the next run must differ in'
complete -c tofu -n "__fish_tofu_needs_command" -f -a "keygen" -d 'Create the signing key that signs transcripts off'
complete -c tofu -n "__fish_tofu_needs_command" -f -a "trust" -d 'Trust other operators\' keys, once, by name (like ssh\'s known_hosts)'
complete -c tofu -n "__fish_tofu_needs_command" -f -a "log" -d 'List this machine\'s campaign log: every attempt `tofu fetch` made, by campaign, with its outcome and digests — those that failed, were interrupted or were left out of a comparison too'
complete -c tofu -n "__fish_tofu_needs_command" -f -a "completions" -d 'Print a completion script for SHELL on stdout'
complete -c tofu -n "__fish_tofu_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tofu -n "__fish_tofu_using_subcommand fetch" -l plan -d 'Fetch the artifacts of this plan (TOML; see configs/). Its name and digest are recorded, so compare can tell runs of different plans apart' -r -F
complete -c tofu -n "__fish_tofu_using_subcommand fetch" -s o -l output -d 'Where to write the transcript; its signature goes to RUN.json.minisig' -r -F
complete -c tofu -n "__fish_tofu_using_subcommand fetch" -l via -d 'How to reach the network: direct, socks5h://[USER:PASS@]HOST:PORT (the proxy resolves names), socks5://… (names resolved locally: leaks DNS), iface:NAME (bind to a network interface such as a VPN tunnel; names are resolved over it too, see --dns), tor (the Tor client built into tofu), or tor:CC (an exit in country CC). Proxy environment variables are ignored' -r -f -a "direct\t''
tor\t''
tor:\t''
socks5h://\t''
socks5://\t''
iface:\t''"
complete -c tofu -n "__fish_tofu_using_subcommand fetch" -l dns -d 'With --via iface:NAME: ask this DNS resolver, IP or IP:PORT, over the interface (repeatable, asked in order) [default: the resolvers of /etc/resolv.conf, still asked over the interface]. Which resolver answered each name is recorded' -r
complete -c tofu -n "__fish_tofu_using_subcommand fetch" -l platform -d 'For images: pull this platform, os/arch[/variant] (repeatable), or all. Default: linux/amd64 on every machine, so runs from different hosts line up. Every index entry is recorded either way' -r
complete -c tofu -n "__fish_tofu_using_subcommand fetch" -l label -d 'A note about this run, recorded in the transcript (e.g. "laptop, home ISP")' -r
complete -c tofu -n "__fish_tofu_using_subcommand fetch" -l country -d 'The country you say this run is made from (ISO 3166-1 alpha-2, e.g. DE). Recorded as claimed, beside the observed one; it never replaces it' -r
complete -c tofu -n "__fish_tofu_using_subcommand fetch" -l whoami -d 'Ask this "what is my IP" endpoint for the exit address and country, before and after the downloads (repeatable; replaces the config\'s [vantage] whoami list for this run; give two or more run by different operators). It must answer JSON with "ip" and "country_iso" (or "country_code", or a two-letter "country")' -r
complete -c tofu -n "__fish_tofu_using_subcommand fetch" -l keep -d 'Keep the payloads in this directory (created if missing), named from the URL asked for (not where it redirected), only once complete and verified; nothing there is replaced' -r -F
complete -c tofu -n "__fish_tofu_using_subcommand fetch" -l ca-cert -d 'Trust this PEM root certificate too (repeatable); its fingerprint is recorded' -r -F
complete -c tofu -n "__fish_tofu_using_subcommand fetch" -l max-size -d 'Refuse bodies larger than this many bytes [default: 64 GiB, or the config\'s]' -r
complete -c tofu -n "__fish_tofu_using_subcommand fetch" -l connect-timeout -d 'Seconds allowed to connect: TCP, proxy and TLS [default: 30, or the config\'s]' -r
complete -c tofu -n "__fish_tofu_using_subcommand fetch" -l read-timeout -d 'Longest pause, in seconds, between two reads of a body; a response\'s headers must arrive within the connect and read timeouts together [default: 60, or the config\'s]' -r
complete -c tofu -n "__fish_tofu_using_subcommand fetch" -l speed-limit -d 'The slowest transfer accepted, in bytes a second on average over --speed-time: a body slower than that has stalled and fails (as curl\'s --speed-limit); 0 turns the check off [default: 1024, or the config\'s]' -r
complete -c tofu -n "__fish_tofu_using_subcommand fetch" -l speed-time -d 'The window of --speed-limit, in seconds [default: 60, or the config\'s]' -r
complete -c tofu -n "__fish_tofu_using_subcommand fetch" -l retries -d 'Attempts at a file after the first when its transfer drops, stalls or times out: each resumes where the last ended (Range + If-Range), or starts over from byte 0 when the server cannot show it is the same version; 0 gives up at the first failure [default: 10, or the config\'s]' -r
complete -c tofu -n "__fish_tofu_using_subcommand fetch" -l key -d 'Sign with this minisign secret key instead of the default (${XDG_CONFIG_HOME:-~/.config}/tofu/signing.key, created on first use)' -r -F
complete -c tofu -n "__fish_tofu_using_subcommand fetch" -l config -d 'Read defaults from this TOML file instead of ${XDG_CONFIG_HOME:-~/.config}/tofu/config.toml (configs/tofu.example.toml lists every key)' -r -F
complete -c tofu -n "__fish_tofu_using_subcommand fetch" -l force -d 'Replace an existing transcript (and its signature) at --output, and start a new run over an interrupted one\'s journal'
complete -c tofu -n "__fish_tofu_using_subcommand fetch" -l resume -d 'Continue the run an interrupted `tofu fetch` with the same arguments left behind (its journal is RUN.json.resume): the same run id, the targets it had done, and with --keep the file it was downloading, checked against its last checkpoint and continued where it stopped. The interruption is recorded in the transcript'
complete -c tofu -n "__fish_tofu_using_subcommand fetch" -s q -l quiet -d 'No progress and no notes on stderr: only warnings, errors and the targets that failed. (On a terminal, progress is a live line; on a pipe or a file, a plain line now and then; NO_COLOR turns colour off.)'
complete -c tofu -n "__fish_tofu_using_subcommand fetch" -l no-whoami -d 'Do not ask any "what is my IP" endpoint: the run then records no exit evidence, and compare cannot show distinct networks or countries for it'
complete -c tofu -n "__fish_tofu_using_subcommand fetch" -l json -d 'Print a summary as JSON on stdout once the transcript is written: its path, and each target\'s outcome, digests and error code (docs/json/fetch.schema.json)'
complete -c tofu -n "__fish_tofu_using_subcommand fetch" -s v -l verbose -d 'Under each error, and under each target that failed, show the chain of causes it was read from (the libraries\' own words)'
complete -c tofu -n "__fish_tofu_using_subcommand fetch" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tofu -n "__fish_tofu_using_subcommand fetch" -s V -l version -d 'Print version'
complete -c tofu -n "__fish_tofu_using_subcommand verify" -l trusted-key -d 'Trust this public key too, for this call only (repeatable; minisign .pub file, shown by its file name)' -r -F
complete -c tofu -n "__fish_tofu_using_subcommand verify" -l config -d 'Read defaults from this TOML file instead of ${XDG_CONFIG_HOME:-~/.config}/tofu/config.toml (configs/tofu.example.toml lists every key)' -r -F
complete -c tofu -n "__fish_tofu_using_subcommand verify" -l json -d 'Print the result of every file as JSON (docs/json/verify.schema.json)'
complete -c tofu -n "__fish_tofu_using_subcommand verify" -s v -l verbose -d 'Under each error, and under each target that failed, show the chain of causes it was read from (the libraries\' own words)'
complete -c tofu -n "__fish_tofu_using_subcommand verify" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tofu -n "__fish_tofu_using_subcommand verify" -s V -l version -d 'Print version'
complete -c tofu -n "__fish_tofu_using_subcommand compare" -l min-runs -d 'Fewest distinct runs needed to agree' -r
complete -c tofu -n "__fish_tofu_using_subcommand compare" -l require -d 'Diversity rules that must hold, comma-separated: distinct-days, distinct-hosts, distinct-networks, distinct-countries; or none. Default: all four. A rule without evidence in the transcripts is unmet' -r
complete -c tofu -n "__fish_tofu_using_subcommand compare" -l trusted-key -d 'Trust this public key too, for this call only (repeatable; minisign .pub file, shown by its file name). Your own key and those added with `tofu trust add` are trusted always; a run signed by any other key is shown but never counted' -r -F
complete -c tofu -n "__fish_tofu_using_subcommand compare" -l min-gap -d 'With distinct-days: the fewest hours between the starts of any two runs. Two UTC dates alone are not two days (23:55 and 00:05 are ten minutes apart); 20 hours still lets a daily run drift a few hours earlier. 0: distinct calendar dates only' -r
complete -c tofu -n "__fish_tofu_using_subcommand compare" -l exclude -d 'Leave out, on purpose, an attempt that a campaign log names but that is not given: RUN=WHY, RUN being its run id or its first 8 or more digits (repeatable). An attempt left out that saw other bytes otherwise makes the verdict disagree' -r
complete -c tofu -n "__fish_tofu_using_subcommand compare" -l log -d 'Set the runs against this campaign log too: another machine\'s campaign.log, copied from its data directory (repeatable; its entries must be signed by keys you trust). This machine\'s own log is always read' -r -F
complete -c tofu -n "__fish_tofu_using_subcommand compare" -l html -d 'Also write the report as one self-contained HTML page to FILE (no script, nothing fetched when it is opened; light and dark mode, and print). An existing FILE is replaced; the exit status is still the verdict\'s' -r -F
complete -c tofu -n "__fish_tofu_using_subcommand compare" -l config -d 'Read defaults from this TOML file instead of ${XDG_CONFIG_HOME:-~/.config}/tofu/config.toml (configs/tofu.example.toml lists every key)' -r -F
complete -c tofu -n "__fish_tofu_using_subcommand compare" -l allow-unsigned -d 'Count transcripts without a signature file (a bad signature is still refused); they are shown as unsigned, and the verdict says how many were counted'
complete -c tofu -n "__fish_tofu_using_subcommand compare" -l allow-mixed-plans -d 'Line up runs of different plans (or of no plan) anyway'
complete -c tofu -n "__fish_tofu_using_subcommand compare" -l json -d 'Print the report as JSON (docs/json/compare.schema.json)'
complete -c tofu -n "__fish_tofu_using_subcommand compare" -s v -l verbose -d 'Under each error, and under each target that failed, show the chain of causes it was read from (the libraries\' own words)'
complete -c tofu -n "__fish_tofu_using_subcommand compare" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tofu -n "__fish_tofu_using_subcommand compare" -s V -l version -d 'Print version'
complete -c tofu -n "__fish_tofu_using_subcommand status" -l min-runs -d 'Fewest distinct runs needed to agree' -r
complete -c tofu -n "__fish_tofu_using_subcommand status" -l require -d 'Diversity rules that must hold, comma-separated: distinct-days, distinct-hosts, distinct-networks, distinct-countries; or none. Default: all four. A rule without evidence in the transcripts is unmet' -r
complete -c tofu -n "__fish_tofu_using_subcommand status" -l trusted-key -d 'Trust this public key too, for this call only (repeatable; minisign .pub file, shown by its file name). Your own key and those added with `tofu trust add` are trusted always; a run signed by any other key is shown but never counted' -r -F
complete -c tofu -n "__fish_tofu_using_subcommand status" -l min-gap -d 'With distinct-days: the fewest hours between the starts of any two runs. Two UTC dates alone are not two days (23:55 and 00:05 are ten minutes apart); 20 hours still lets a daily run drift a few hours earlier. 0: distinct calendar dates only' -r
complete -c tofu -n "__fish_tofu_using_subcommand status" -l exclude -d 'Leave out, on purpose, an attempt that a campaign log names but that is not given: RUN=WHY, RUN being its run id or its first 8 or more digits (repeatable). An attempt left out that saw other bytes otherwise makes the verdict disagree' -r
complete -c tofu -n "__fish_tofu_using_subcommand status" -l log -d 'Set the runs against this campaign log too: another machine\'s campaign.log, copied from its data directory (repeatable; its entries must be signed by keys you trust). This machine\'s own log is always read' -r -F
complete -c tofu -n "__fish_tofu_using_subcommand status" -l config -d 'Read defaults from this TOML file instead of ${XDG_CONFIG_HOME:-~/.config}/tofu/config.toml (configs/tofu.example.toml lists every key)' -r -F
complete -c tofu -n "__fish_tofu_using_subcommand status" -l allow-unsigned -d 'Count transcripts without a signature file (a bad signature is still refused); they are shown as unsigned, and the verdict says how many were counted'
complete -c tofu -n "__fish_tofu_using_subcommand status" -l allow-mixed-plans -d 'Line up runs of different plans (or of no plan) anyway'
complete -c tofu -n "__fish_tofu_using_subcommand status" -l json -d 'Print the status as JSON (docs/json/status.schema.json)'
complete -c tofu -n "__fish_tofu_using_subcommand status" -s v -l verbose -d 'Under each error, and under each target that failed, show the chain of causes it was read from (the libraries\' own words)'
complete -c tofu -n "__fish_tofu_using_subcommand status" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tofu -n "__fish_tofu_using_subcommand status" -s V -l version -d 'Print version'
complete -c tofu -n "__fish_tofu_using_subcommand keygen" -l key -d 'Where to write the secret key (the public key goes beside it, .key → .pub)' -r -F
complete -c tofu -n "__fish_tofu_using_subcommand keygen" -l config -d 'Read defaults from this TOML file instead of ${XDG_CONFIG_HOME:-~/.config}/tofu/config.toml (configs/tofu.example.toml lists every key)' -r -F
complete -c tofu -n "__fish_tofu_using_subcommand keygen" -l force -d 'Replace an existing key. Transcripts signed with the old key then need its .pub file'
complete -c tofu -n "__fish_tofu_using_subcommand keygen" -l json -d 'Print the key\'s files, public key and key id as JSON (docs/json/keygen.schema.json)'
complete -c tofu -n "__fish_tofu_using_subcommand keygen" -s v -l verbose -d 'Under each error, and under each target that failed, show the chain of causes it was read from (the libraries\' own words)'
complete -c tofu -n "__fish_tofu_using_subcommand keygen" -s h -l help -d 'Print help'
complete -c tofu -n "__fish_tofu_using_subcommand keygen" -s V -l version -d 'Print version'
complete -c tofu -n "__fish_tofu_using_subcommand trust; and not __fish_seen_subcommand_from add list remove help" -l config -d 'Read defaults from this TOML file instead of ${XDG_CONFIG_HOME:-~/.config}/tofu/config.toml (configs/tofu.example.toml lists every key)' -r -F
complete -c tofu -n "__fish_tofu_using_subcommand trust; and not __fish_seen_subcommand_from add list remove help" -s v -l verbose -d 'Under each error, and under each target that failed, show the chain of causes it was read from (the libraries\' own words)'
complete -c tofu -n "__fish_tofu_using_subcommand trust; and not __fish_seen_subcommand_from add list remove help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tofu -n "__fish_tofu_using_subcommand trust; and not __fish_seen_subcommand_from add list remove help" -s V -l version -d 'Print version'
complete -c tofu -n "__fish_tofu_using_subcommand trust; and not __fish_seen_subcommand_from add list remove help" -f -a "add" -d 'Trust an operator\'s public key under NAME'
complete -c tofu -n "__fish_tofu_using_subcommand trust; and not __fish_seen_subcommand_from add list remove help" -f -a "list" -d 'List the keys you trust, with their key ids; your own key is marked'
complete -c tofu -n "__fish_tofu_using_subcommand trust; and not __fish_seen_subcommand_from add list remove help" -f -a "remove" -d 'Stop trusting the key named NAME'
complete -c tofu -n "__fish_tofu_using_subcommand trust; and not __fish_seen_subcommand_from add list remove help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tofu -n "__fish_tofu_using_subcommand trust; and __fish_seen_subcommand_from add" -l config -d 'Read defaults from this TOML file instead of ${XDG_CONFIG_HOME:-~/.config}/tofu/config.toml (configs/tofu.example.toml lists every key)' -r -F
complete -c tofu -n "__fish_tofu_using_subcommand trust; and __fish_seen_subcommand_from add" -l json -d 'Print the key trusted as JSON (docs/json/trust-change.schema.json)'
complete -c tofu -n "__fish_tofu_using_subcommand trust; and __fish_seen_subcommand_from add" -s v -l verbose -d 'Under each error, and under each target that failed, show the chain of causes it was read from (the libraries\' own words)'
complete -c tofu -n "__fish_tofu_using_subcommand trust; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tofu -n "__fish_tofu_using_subcommand trust; and __fish_seen_subcommand_from add" -s V -l version -d 'Print version'
complete -c tofu -n "__fish_tofu_using_subcommand trust; and __fish_seen_subcommand_from list" -l config -d 'Read defaults from this TOML file instead of ${XDG_CONFIG_HOME:-~/.config}/tofu/config.toml (configs/tofu.example.toml lists every key)' -r -F
complete -c tofu -n "__fish_tofu_using_subcommand trust; and __fish_seen_subcommand_from list" -l json -d 'Print the list as JSON (docs/json/trust-list.schema.json)'
complete -c tofu -n "__fish_tofu_using_subcommand trust; and __fish_seen_subcommand_from list" -s v -l verbose -d 'Under each error, and under each target that failed, show the chain of causes it was read from (the libraries\' own words)'
complete -c tofu -n "__fish_tofu_using_subcommand trust; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c tofu -n "__fish_tofu_using_subcommand trust; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c tofu -n "__fish_tofu_using_subcommand trust; and __fish_seen_subcommand_from remove" -l config -d 'Read defaults from this TOML file instead of ${XDG_CONFIG_HOME:-~/.config}/tofu/config.toml (configs/tofu.example.toml lists every key)' -r -F
complete -c tofu -n "__fish_tofu_using_subcommand trust; and __fish_seen_subcommand_from remove" -l json -d 'Print the key no longer trusted as JSON (docs/json/trust-change.schema.json)'
complete -c tofu -n "__fish_tofu_using_subcommand trust; and __fish_seen_subcommand_from remove" -s v -l verbose -d 'Under each error, and under each target that failed, show the chain of causes it was read from (the libraries\' own words)'
complete -c tofu -n "__fish_tofu_using_subcommand trust; and __fish_seen_subcommand_from remove" -s h -l help -d 'Print help'
complete -c tofu -n "__fish_tofu_using_subcommand trust; and __fish_seen_subcommand_from remove" -s V -l version -d 'Print version'
complete -c tofu -n "__fish_tofu_using_subcommand trust; and __fish_seen_subcommand_from help" -f -a "add" -d 'Trust an operator\'s public key under NAME'
complete -c tofu -n "__fish_tofu_using_subcommand trust; and __fish_seen_subcommand_from help" -f -a "list" -d 'List the keys you trust, with their key ids; your own key is marked'
complete -c tofu -n "__fish_tofu_using_subcommand trust; and __fish_seen_subcommand_from help" -f -a "remove" -d 'Stop trusting the key named NAME'
complete -c tofu -n "__fish_tofu_using_subcommand trust; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tofu -n "__fish_tofu_using_subcommand log" -l file -d 'Read this log instead of this machine\'s (another machine\'s campaign.log, copied; its entries must be signed by keys you trust)' -r -F
complete -c tofu -n "__fish_tofu_using_subcommand log" -l config -d 'Read defaults from this TOML file instead of ${XDG_CONFIG_HOME:-~/.config}/tofu/config.toml (configs/tofu.example.toml lists every key)' -r -F
complete -c tofu -n "__fish_tofu_using_subcommand log" -l json -d 'Print the log as JSON (docs/json/log.schema.json)'
complete -c tofu -n "__fish_tofu_using_subcommand log" -s v -l verbose -d 'Under each error, and under each target that failed, show the chain of causes it was read from (the libraries\' own words)'
complete -c tofu -n "__fish_tofu_using_subcommand log" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tofu -n "__fish_tofu_using_subcommand log" -s V -l version -d 'Print version'
complete -c tofu -n "__fish_tofu_using_subcommand completions" -l config -d 'Read defaults from this TOML file instead of ${XDG_CONFIG_HOME:-~/.config}/tofu/config.toml (configs/tofu.example.toml lists every key)' -r -F
complete -c tofu -n "__fish_tofu_using_subcommand completions" -s v -l verbose -d 'Under each error, and under each target that failed, show the chain of causes it was read from (the libraries\' own words)'
complete -c tofu -n "__fish_tofu_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tofu -n "__fish_tofu_using_subcommand completions" -s V -l version -d 'Print version'
complete -c tofu -n "__fish_tofu_using_subcommand help; and not __fish_seen_subcommand_from fetch verify compare status keygen trust log completions help" -f -a "fetch" -d 'Fetch targets over one transport and write a signed transcript of what was seen'
complete -c tofu -n "__fish_tofu_using_subcommand help; and not __fish_seen_subcommand_from fetch verify compare status keygen trust log completions help" -f -a "verify" -d 'Check the format and signature of transcripts, and say who signed each'
complete -c tofu -n "__fish_tofu_using_subcommand help; and not __fish_seen_subcommand_from fetch verify compare status keygen trust log completions help" -f -a "compare" -d 'Compare transcripts of the same artifacts from different runs'
complete -c tofu -n "__fish_tofu_using_subcommand help; and not __fish_seen_subcommand_from fetch verify compare status keygen trust log completions help" -f -a "status" -d 'Show where a campaign stands: what agrees so far, which rules are unmet, and what the next run must differ in'
complete -c tofu -n "__fish_tofu_using_subcommand help; and not __fish_seen_subcommand_from fetch verify compare status keygen trust log completions help" -f -a "keygen" -d 'Create the signing key that signs transcripts off'
complete -c tofu -n "__fish_tofu_using_subcommand help; and not __fish_seen_subcommand_from fetch verify compare status keygen trust log completions help" -f -a "trust" -d 'Trust other operators\' keys, once, by name (like ssh\'s known_hosts)'
complete -c tofu -n "__fish_tofu_using_subcommand help; and not __fish_seen_subcommand_from fetch verify compare status keygen trust log completions help" -f -a "log" -d 'List this machine\'s campaign log: every attempt `tofu fetch` made, by campaign, with its outcome and digests — those that failed, were interrupted or were left out of a comparison too'
complete -c tofu -n "__fish_tofu_using_subcommand help; and not __fish_seen_subcommand_from fetch verify compare status keygen trust log completions help" -f -a "completions" -d 'Print a completion script for SHELL on stdout'
complete -c tofu -n "__fish_tofu_using_subcommand help; and not __fish_seen_subcommand_from fetch verify compare status keygen trust log completions help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tofu -n "__fish_tofu_using_subcommand help; and __fish_seen_subcommand_from trust" -f -a "add" -d 'Trust an operator\'s public key under NAME'
complete -c tofu -n "__fish_tofu_using_subcommand help; and __fish_seen_subcommand_from trust" -f -a "list" -d 'List the keys you trust, with their key ids; your own key is marked'
complete -c tofu -n "__fish_tofu_using_subcommand help; and __fish_seen_subcommand_from trust" -f -a "remove" -d 'Stop trusting the key named NAME'
