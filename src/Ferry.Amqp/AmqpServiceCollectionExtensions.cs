using Ferry.Amqp.Channels;
using Ferry.Broker.Connections;
using Ferry.Broker.Queues;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Ferry.Amqp;

public static class AmqpServiceCollectionExtensions
{
    /// <summary>
    /// The AMQP side of the broker: options, the queue broker (exchanges, queues, their storage) and the
    /// hosted service that loads it before connections are served and closes it cleanly at shutdown. Listen
    /// with <c>UseConnectionHandler&lt;AmqpConnectionHandler&gt;()</c>.
    /// </summary>
    public static IServiceCollection AddFerryAmqp(this IServiceCollection services, Action<AmqpOptions> configure)
    {
        services.AddOptions<AmqpOptions>().Configure(configure);
        services.AddSingleton<IMessageContentCodec, AmqpContentCodec>();
        services.TryAddSingleton<ConnectionRegistry>();
        services.AddSingleton<DirectReplyTo>();
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<AmqpOptions>>().Value;
            return new QueueBroker(
                new QueueBrokerOptions
                {
                    DataDirectory = Path.GetFullPath(options.DataDirectory),
                    QueueLogOptions = options.QueueLogOptions,
                    MessagePoolBytes = options.MessagePoolBytes,
                },
                sp.GetRequiredService<IMessageContentCodec>(),
                sp.GetRequiredService<ILogger<QueueBroker>>());
        });
        services.AddHostedService<AmqpBrokerService>();
        return services;
    }
}

/// <summary>Loads queues at start (before the listener serves, see <see cref="QueueBroker.Loaded"/>) and
/// closes them cleanly at stop, after Kestrel has stopped accepting.</summary>
internal sealed class AmqpBrokerService(QueueBroker broker) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        broker.Load();
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken) => await broker.DisposeAsync().ConfigureAwait(false);
}
