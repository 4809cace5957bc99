using System.CommandLine;
using System.Text.RegularExpressions;
using Ferry.Configuration;

namespace Ferry.Cli;

internal static partial class FerryCommandLine
{
    public static RootCommand Create()
    {
        var root = new RootCommand("Ferry: one small, fast, durable broker for Kafka and AMQP 0-9-1 clients")
        {
            ServeCommand.Create(),
        };
        // --server and --json belong to the client commands only: `serve --help` must not offer them.
        foreach (var client in new[]
                 {
                     StatusCommand.Create(), ClusterCommand.Create(), TopicsCommand.Create(), GroupsCommand.Create(), QueuesCommand.Queues(), UsersCommand.Create(), AclsCommand.Create(), VhostsCommand.Vhosts(), VhostsCommand.Permissions(), QueuesCommand.Exchanges(),
                     QueuesCommand.Bindings(), QueuesCommand.Connections(), ProduceCommand.Create(), ConsumeCommand.Create(),
                 })
        {
            client.Options.Add(ClientCommand.Server);
            client.Options.Add(ClientCommand.Json);
            client.Options.Add(ClientCommand.User);
            root.Subcommands.Add(client);
        }
        return root;
    }

    public static Task<int> RunAsync(string[] args)
    {
        var parse = Create().Parse(KcatKeySeparator(ClientOptionsAfterCommand(args)));
        if (parse.Errors.Count > 0)
        {
            // Usage mistakes get their own exit code, so that scripts can tell them from failed operations.
            foreach (var error in parse.Errors) Console.Error.WriteLine("ferry: " + InWords(error.Message));
            if (Suggestion(parse) is { } suggestion) Console.Error.WriteLine($"Did you mean '{suggestion}'?");
            Console.Error.WriteLine("Run 'ferry --help' for usage.");
            return Task.FromResult(ExitCodes.Usage);
        }
        // The generic host owns SIGTERM and Ctrl+C (graceful shutdown); the parser must not race it.
        var invocation = new InvocationConfiguration { ProcessTerminationTimeout = null };
        return parse.InvokeAsync(invocation);
    }

    /// <summary>
    /// kcat writes the key separator stuck to its flag (<c>-K:</c>, <c>-K\t</c>); the parser would read <c>-K:</c> as
    /// <c>-K</c> with an empty value (':' is one of its own delimiters). Split it as kcat means it.
    /// </summary>
    /// <summary>
    /// The client options belong to the client commands (so that <c>serve --help</c> does not offer them), but
    /// scripts written as <c>ferry --server URL topics list</c> keep working: leading client options move behind
    /// the command.
    /// </summary>
    internal static string[] ClientOptionsAfterCommand(string[] args)
    {
        var leading = new List<string>();
        int i = 0;
        while (i < args.Length)
        {
            string arg = args[i];
            bool withValue = arg is "--server" or "-s" or "--user" or "-u";
            bool inline = arg.StartsWith("--server=", StringComparison.Ordinal) || arg.StartsWith("--user=", StringComparison.Ordinal);
            if (withValue && i + 1 < args.Length) { leading.Add(arg); leading.Add(args[i + 1]); i += 2; }
            else if (inline || arg == "--json") { leading.Add(arg); i++; }
            else break;
        }
        if (leading.Count == 0 || i == args.Length || args[i] == "serve") return args;
        return [.. args[i..], .. leading];
    }

    internal static string[] KcatKeySeparator(string[] args)
    {
        if (args.Length == 0 || args[0] != "produce") return args;
        var result = new List<string>(args.Length + 1);
        foreach (var arg in args)
        {
            if (arg.Length > 2 && arg.StartsWith("-K", StringComparison.Ordinal))
            {
                result.Add("-K");
                result.Add(arg[2..]);
            }
            else
            {
                result.Add(arg);
            }
        }
        return [.. result];
    }

    // System.CommandLine: "Cannot parse argument 'x' for option '--partitions' as expected type 'System.Int32'."
    [GeneratedRegex(@"as expected type '(?<type>[^']+)'")]
    private static partial Regex ExpectedType();

    private static string InWords(string message) =>
        ExpectedType().Replace(message, match => "as " + InvalidSettingException.InWords(match.Groups["type"].Value));

    /// <summary>The closest command to a mistyped one, at the level where it went wrong ("ferry topics lst" → "ferry topics list").</summary>
    private static string? Suggestion(ParseResult parse)
    {
        var command = parse.CommandResult.Command;
        string? typed = parse.UnmatchedTokens.FirstOrDefault(t => !t.StartsWith('-'));
        if (typed is null || command.Subcommands.Count == 0) return null;
        var best = command.Subcommands
            .Select(c => (c.Name, Distance: Distance(typed, c.Name)))
            .OrderBy(c => c.Distance)
            .First();
        if (best.Distance > Math.Max(1, typed.Length / 3)) return null;
        var path = new List<string>();
        for (var result = parse.CommandResult; result is not null; result = result.Parent as System.CommandLine.Parsing.CommandResult)
            path.Insert(0, result.Command.Name);
        path[0] = "ferry";
        path.Add(best.Name);
        return string.Join(' ', path);
    }

    /// <summary>Levenshtein distance, with a swap of two neighbours counting one (the commonest typo).</summary>
    private static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (int j = 0; j <= b.Length; j++) d[0, j] = j;
        for (int i = 1; i <= a.Length; i++)
        {
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = char.ToLowerInvariant(a[i - 1]) == char.ToLowerInvariant(b[j - 1]) ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
            }
        }
        return d[a.Length, b.Length];
    }
}
