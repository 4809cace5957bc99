using Ferry.Broker.Connections;
using Ferry.Kafka.Handlers;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Ferry.Kafka;

public static class KafkaServiceCollectionExtensions
{
    /// <summary>Registers the Kafka handlers and the connection handler; the host binds the listener.</summary>
    public static IServiceCollection AddFerryKafka(this IServiceCollection services)
    {
        foreach (var handler in typeof(IKafkaHandler).Assembly.GetTypes()
                     .Where(t => t is { IsClass: true, IsAbstract: false } && typeof(IKafkaHandler).IsAssignableFrom(t)))
        {
            services.AddSingleton(typeof(IKafkaHandler), handler);
        }
        services.AddSingleton<KafkaHandlerRegistry>();
        services.TryAddSingleton<ConnectionRegistry>();
        services.AddSingleton<KafkaConnectionHandler>();
        return services;
    }
}
