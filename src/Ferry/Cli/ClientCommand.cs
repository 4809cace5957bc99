using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Ferry.Admin;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Ferry.Cli;

/// <summary>What a client command runs with: the admin client, the output mode and the console.</summary>
internal sealed class ClientContext(AdminClient client, bool json, IAnsiConsole console)
{
    public AdminClient Client { get; } = client;

    /// <summary>Print JSON for scripts instead of tables for people.</summary>
    public bool Json { get; } = json;

    public IAnsiConsole Console { get; } = console;

    /// <summary>Progress bars only where a person watches: never with --json or redirected output.</summary>
    public bool Interactive => !Json && !System.Console.IsOutputRedirected && Console.Profile.Capabilities.Interactive;

    public void WriteJson<T>(T value, JsonTypeInfo<T> type) => System.Console.Out.WriteLine(JsonSerializer.Serialize(value, type));

    public void WriteLine(string text) => System.Console.Out.WriteLine(text);

    /// <summary>
    /// A table or grid, with the ends of its lines trimmed (Spectre pads every line to the table's width, which
    /// leaves trailing spaces in files and diffs); an empty table is "(none)".
    /// </summary>
    public void Write(IRenderable renderable)
    {
        if (renderable is Table { Rows.Count: 0 })
        {
            WriteLine("(none)");
            return;
        }
        using var text = new StringWriter();
        var plain = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Out = new AnsiConsoleOutput(text),
        });
        plain.Profile.Width = Console.Profile.Width;
        plain.Write(renderable);
        var lines = text.ToString().Split('\n');
        int count = lines.Length > 0 && lines[^1].Length == 0 ? lines.Length - 1 : lines.Length;
        for (int i = 0; i < count; i++) System.Console.Out.WriteLine(lines[i].TrimEnd());
    }
}

/// <summary>A usage mistake found after parsing (a missing choice, a malformed KEY=VALUE): exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>The options every client command shares, and the one place that turns failures into exit codes.</summary>
internal static class ClientCommand
{
    public const string DefaultServer = "http://127.0.0.1:8080";

    public static readonly Option<string> Server = new("--server", "-s")
    {
        Description = "Admin API of the broker (default $FERRY_SERVER, else " + DefaultServer + ")",
        HelpName = "URL",
        Recursive = true,
    };

    public static readonly Option<string> User = new("--user", "-u")
    {
        Description = "Admin API user, HTTP Basic (default $FERRY_USER); the password comes from $FERRY_PASSWORD",
        HelpName = "NAME",
        Recursive = true,
    };

    public static readonly Option<bool> Json = new("--json")
    {
        Description = "Print JSON for scripts instead of tables",
        Recursive = true,
    };

    /// <summary>Sets the action of <paramref name="command"/>: build the context, run, map failures to exit codes with a one-line message.</summary>
    public static Command WithAction(this Command command, Func<ParseResult, ClientContext, CancellationToken, Task<int>> action)
    {
        command.SetAction(async (parse, cancellationToken) =>
        {
            string server = parse.GetValue(Server) ?? Environment.GetEnvironmentVariable("FERRY_SERVER") ?? DefaultServer;
            if (!Uri.TryCreate(server.Contains("://", StringComparison.Ordinal) ? server : "http://" + server, UriKind.Absolute, out var uri)
                || uri.Scheme is not ("http" or "https"))
            {
                return Fail(ExitCodes.Usage, $"--server '{server}' is not an http:// URL");
            }
            string? user = parse.GetValue(User) ?? Environment.GetEnvironmentVariable("FERRY_USER");
            // The password is read from the environment only: a command-line argument is visible to every process.
            string? password = Environment.GetEnvironmentVariable("FERRY_PASSWORD");
            using var client = new AdminClient(uri, user is null ? null : (user, password ?? ""));
            var console = AnsiConsole.Console;
            // Spectre assumes 80 columns when output goes to a file or a pipe; wrapped cells would break grep and awk.
            if (Console.IsOutputRedirected) console.Profile.Width = 240;
            try
            {
                return await action(parse, new ClientContext(client, parse.GetValue(Json), console), cancellationToken).ConfigureAwait(false);
            }
            catch (BrokerUnreachableException ex)
            {
                return Fail(ExitCodes.Unreachable, ex.Message);
            }
            catch (AdminApiException ex)
            {
                return Fail(ExitCodes.Failed, ex.Message);
            }
            catch (UsageException ex)
            {
                return Fail(ExitCodes.Usage, ex.Message);
            }
            catch (IOException ex)
            {
                return Fail(ExitCodes.Failed, ex.Message);
            }
        });
        return command;
    }

    public static int Fail(int code, string message)
    {
        Console.Error.WriteLine("ferry: " + message);
        return code;
    }

    /// <summary>Parses repeated <c>KEY=VALUE</c> options.</summary>
    public static Dictionary<string, string> Pairs(string[]? values, string option)
    {
        var pairs = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var value in values ?? [])
        {
            int equals = value.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0) throw new UsageException($"{option} expects KEY=VALUE, got '{value}'");
            pairs[value[..equals]] = value[(equals + 1)..];
        }
        return pairs;
    }

    /// <summary>"1 partition", "3 partitions".</summary>
    public static string Plural(long count, string noun) =>
        count.ToString(System.Globalization.CultureInfo.InvariantCulture) + " " + noun + (count == 1 ? "" : "s");

    public static string Bytes(long bytes) => bytes switch
    {
        < 1024 => $"{bytes} B",
        < 1024 * 1024 => $"{bytes / 1024.0:0.0} KiB",
        < 1024L * 1024 * 1024 => $"{bytes / (1024.0 * 1024):0.0} MiB",
        _ => $"{bytes / (1024.0 * 1024 * 1024):0.0} GiB",
    };

    public static string Rate(double perSecond) => perSecond.ToString(perSecond < 10 ? "0.##" : "0", System.Globalization.CultureInfo.InvariantCulture);

    public static Table NewTable(params string[] columns)
    {
        var table = new Table().Border(TableBorder.Simple);
        foreach (var column in columns) table.AddColumn(new TableColumn(Markup.Escape(column)));
        return table;
    }

    /// <summary>Adds a row of plain text (names may hold '[', which Spectre would read as markup).</summary>
    public static void Row(this Table table, params object?[] cells) =>
        table.AddRow(cells.Select(c => (IRenderable)new Text(Convert.ToString(c, System.Globalization.CultureInfo.InvariantCulture) ?? "")).ToArray());

    /// <summary>For commands that print nothing on success but a sentence (or, with --json, an object).</summary>
    public static void Done(ClientContext context, string message)
    {
        if (context.Json) context.WriteJson(new CliMessage(true, message), FerryJsonContext.Api.CliMessage);
        else context.WriteLine(message);
    }
}
