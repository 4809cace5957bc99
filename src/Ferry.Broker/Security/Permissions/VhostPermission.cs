using System.Text.RegularExpressions;

namespace Ferry.Broker.Security.Permissions;

/// <summary>
/// RabbitMQ's permissions of one user in one vhost: three regular expressions over resource names, matched anywhere
/// in the name as Erlang's re does (anchor with <c>^...$</c>). <c>configure</c> covers declaring and deleting queues
/// and exchanges, <c>write</c> publishing to an exchange and binding to a queue (or destination exchange), <c>read</c>
/// consuming, getting and purging a queue and binding from an exchange. An empty expression matches nothing.
/// </summary>
/// <remarks>
/// The expressions are compiled once, when the permission is made: non-backtracking (linear time whatever the input,
/// and no code generation, which Native AOT lacks); an expression that engine cannot run (backreferences, lookaround)
/// falls back to the interpreter with a match timeout.
/// </remarks>
public sealed class VhostPermission
{
    private static readonly TimeSpan MatchTimeout = TimeSpan.FromMilliseconds(100);
    private readonly Regex? _configure;
    private readonly Regex? _write;
    private readonly Regex? _read;

    public VhostPermission(string vhost, string user, string configure, string write, string read)
    {
        Vhost = vhost;
        User = user;
        Configure = configure;
        Write = write;
        Read = read;
        _configure = Compile(configure);
        _write = Compile(write);
        _read = Compile(read);
    }

    /// <summary>What a user with full rights has: <c>.*</c> three times.</summary>
    public static VhostPermission Full(string vhost, string user) => new(vhost, user, ".*", ".*", ".*");

    public string Vhost { get; }
    public string User { get; }
    public string Configure { get; }
    public string Write { get; }
    public string Read { get; }

    /// <summary>Everything allowed: checks can be skipped.</summary>
    public bool IsFull => Configure == ".*" && Write == ".*" && Read == ".*";

    public bool MayConfigure(string name) => Matches(_configure, name);

    public bool MayWrite(string name) => Matches(_write, name);

    public bool MayRead(string name) => Matches(_read, name);

    /// <summary>Why <paramref name="pattern"/> is no regular expression, or null.</summary>
    public static string? Invalid(string pattern)
    {
        try
        {
            _ = Compile(pattern);
            return null;
        }
        catch (ArgumentException ex)
        {
            return ex.Message;
        }
    }

    private static bool Matches(Regex? regex, string name)
    {
        if (regex is null) return false;
        try
        {
            return regex.IsMatch(name);
        }
        catch (RegexMatchTimeoutException)
        {
            return false;
        }
    }

    private static Regex? Compile(string pattern)
    {
        if (pattern.Length == 0) return null;
        try
        {
            return new Regex(pattern, RegexOptions.NonBacktracking | RegexOptions.CultureInvariant);
        }
        catch (NotSupportedException)
        {
            return new Regex(pattern, RegexOptions.CultureInvariant, MatchTimeout);
        }
    }
}
