using System.CommandLine;
using Ferry.Configuration;
using Ferry.Hosting;
using Microsoft.Extensions.Options;

namespace Ferry.Cli;

/// <summary><c>ferry serve</c>: runs the broker until SIGTERM or Ctrl+C.</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var data = new Option<string>("--data") { Description = "Data directory for logs and metadata (default ./data)", HelpName = "DIR" };
        var kafka = new Option<string>("--kafka") { Description = "Kafka listeners, comma-separated, each HOST:PORT or PLAINTEXT|SSL|SASL_PLAINTEXT|SASL_SSL://HOST:PORT (default 127.0.0.1:9092)", HelpName = "LISTENERS" };
        var amqp = new Option<string>("--amqp") { Description = "AMQP 0-9-1 listeners, HOST:PORT or amqp|amqps://HOST:PORT (default 127.0.0.1:5672)", HelpName = "LISTENERS" };
        var http = new Option<string>("--http") { Description = "HTTP listeners: health, admin API, metrics; HOST:PORT or http|https://HOST:PORT (default 127.0.0.1:8080)", HelpName = "LISTENERS" };
        var tlsCert = new Option<string>("--tls-cert") { Description = "PEM certificate (and chain) of the TLS listeners", HelpName = "FILE" };
        var tlsKey = new Option<string>("--tls-key") { Description = "PEM private key of --tls-cert", HelpName = "FILE" };
        var tlsClientCa = new Option<string>("--tls-client-ca") { Description = "PEM authorities that client certificates must chain to: turns on client-certificate verification", HelpName = "FILE" };
        var config = new Option<string>("--config") { Description = "JSON configuration file", HelpName = "FILE" };
        var nodeId = new Option<string>("--node-id") { Description = "This node's id in a cluster (one of --voters, or another one for a broker-only node with --join)", HelpName = "N" };
        var voters = new Option<string>("--voters") { Description = "The cluster's metadata voters, the same on every node; without it: a single node", HelpName = "1@HOST:PORT,..." };
        var join = new Option<string>("--join") { Description = "A broker-only node (id not in --voters): the HTTP address of running node(s) to fetch the cluster's metadata from", HelpName = "URL[,URL]" };
        var clusterListen = new Option<string>("--cluster-listen") { Description = "Where the inter-node listener binds when peers dial another address than this node's voter entry (default: the voter entry)", HelpName = "HOST:PORT" };
        var logLevel = new Option<string>("--log-level") { Description = "Minimum log level: Trace, Debug, Information, Warning, Error", HelpName = "LEVEL" };

        var command = new Command("serve", "Run the broker") { data, kafka, amqp, http, tlsCert, tlsKey, tlsClientCa, nodeId, voters, join, clusterListen, config, logLevel };
        command.SetAction(async (parse, cancellationToken) =>
        {
            // Only the flags given override the config file and the environment.
            var flags = new Dictionary<string, string?>();
            void Map(Option<string> option, string key)
            {
                if (parse.GetValue(option) is { } value) flags[key] = value;
            }
            Map(data, "Data");
            Map(kafka, "Listeners:Kafka");
            Map(amqp, "Listeners:Amqp");
            Map(http, "Listeners:Http");
            Map(tlsCert, "Tls:CertificateFile");
            Map(tlsKey, "Tls:KeyFile");
            Map(tlsClientCa, "Tls:ClientCaFile");
            Map(logLevel, "Logging:LogLevel:Default");
            Map(nodeId, "Cluster:NodeId");
            Map(voters, "Cluster:Voters");
            Map(join, "Cluster:Join");
            Map(clusterListen, "Cluster:ListenAddress");

            // A setting out of range or unreadable, a listener that is not HOST:PORT or whose port is taken, a data
            // directory held by another Ferry: one line saying what is wrong, not a stack trace.
            try
            {
                await using var app = FerryHost.Build(parse.GetValue(config), flags);
                ListenerCheck.ThrowIfUnavailable(app.Services.GetRequiredService<IOptions<FerryOptions>>().Value.Listeners);
                await app.RunAsync(cancellationToken).ConfigureAwait(false);
                return ExitCodes.Ok;
            }
            catch (OptionsValidationException ex)
            {
                await Console.Error.WriteLineAsync($"ferry: invalid configuration: {SettingsCheck.Describe(ex)}").ConfigureAwait(false);
                return ExitCodes.Usage;
            }
            catch (Exception ex) when (ex is InvalidSettingException or FormatException or InvalidDataException or Ferry.Cluster.Raft.ClusterConfigurationException)
            {
                await Console.Error.WriteLineAsync($"ferry: invalid configuration: {ex.Message}").ConfigureAwait(false);
                return ExitCodes.Usage;
            }
            catch (IOException ex)
            {
                await Console.Error.WriteLineAsync($"ferry: cannot start: {ex.Message}").ConfigureAwait(false);
                return ExitCodes.Failed;
            }
        });
        return command;
    }
}
