using System.CommandLine;

namespace Ferry.Cli;

internal static class FerryCommandLine
{
    public static RootCommand Create()
    {
        var root = new RootCommand("Ferry: one small, fast, durable broker for Kafka and AMQP 0-9-1 clients")
        {
            ServeCommand.Create(),
            StatusCommand.Create(),
            ClusterCommand.Create(),
            TopicsCommand.Create(),
            GroupsCommand.Create(),
            QueuesCommand.Queues(),
            QueuesCommand.Exchanges(),
            QueuesCommand.Bindings(),
            QueuesCommand.Connections(),
            ProduceCommand.Create(),
            ConsumeCommand.Create(),
        };
        root.Options.Add(ClientCommand.Server);
        root.Options.Add(ClientCommand.Json);
        return root;
    }

    public static Task<int> RunAsync(string[] args)
    {
        var parse = Create().Parse(args);
        if (parse.Errors.Count > 0)
        {
            // Usage mistakes get their own exit code, so that scripts can tell them from failed operations.
            foreach (var error in parse.Errors) Console.Error.WriteLine("ferry: " + error.Message);
            Console.Error.WriteLine("Run 'ferry --help' for usage.");
            return Task.FromResult(ExitCodes.Usage);
        }
        // The generic host owns SIGTERM and Ctrl+C (graceful shutdown); the parser must not race it.
        var invocation = new InvocationConfiguration { ProcessTerminationTimeout = null };
        return parse.InvokeAsync(invocation);
    }
}
