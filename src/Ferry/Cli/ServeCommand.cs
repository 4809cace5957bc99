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
        var kafka = new Option<string>("--kafka") { Description = "Kafka listener (default 127.0.0.1:9092)", HelpName = "HOST:PORT" };
        var amqp = new Option<string>("--amqp") { Description = "AMQP 0-9-1 listener (default 127.0.0.1:5672)", HelpName = "HOST:PORT" };
        var http = new Option<string>("--http") { Description = "HTTP listener: health, admin API, metrics (default 127.0.0.1:8080)", HelpName = "HOST:PORT" };
        var config = new Option<string>("--config") { Description = "JSON configuration file", HelpName = "FILE" };
        var logLevel = new Option<string>("--log-level") { Description = "Minimum log level: Trace, Debug, Information, Warning, Error", HelpName = "LEVEL" };

        var command = new Command("serve", "Run the broker") { data, kafka, amqp, http, config, logLevel };
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
            Map(logLevel, "Logging:LogLevel:Default");

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
            catch (Exception ex) when (ex is InvalidSettingException or FormatException or InvalidDataException)
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
