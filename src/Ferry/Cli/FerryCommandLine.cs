using System.CommandLine;

namespace Ferry.Cli;

internal static class FerryCommandLine
{
    public static RootCommand Create() => new("Ferry: one small, fast, durable broker for Kafka and AMQP 0-9-1 clients")
    {
        ServeCommand.Create(),
    };

    public static Task<int> RunAsync(string[] args)
    {
        // The generic host owns SIGTERM and Ctrl+C (graceful shutdown); the parser must not race it.
        var invocation = new InvocationConfiguration { ProcessTerminationTimeout = null };
        return Create().Parse(args).InvokeAsync(invocation);
    }
}
