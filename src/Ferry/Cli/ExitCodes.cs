namespace Ferry.Cli;

/// <summary>Exit codes of the client commands, the same for every command so that scripts can branch on them.</summary>
internal static class ExitCodes
{
    public const int Ok = 0;

    /// <summary>The broker answered and refused or failed the operation (unknown topic, exists, invalid config...).</summary>
    public const int Failed = 1;

    /// <summary>The command line was wrong: unknown command or option, missing or malformed value.</summary>
    public const int Usage = 2;

    /// <summary>No broker answered at <c>--server</c> (refused, timed out, not HTTP).</summary>
    public const int Unreachable = 3;
}
