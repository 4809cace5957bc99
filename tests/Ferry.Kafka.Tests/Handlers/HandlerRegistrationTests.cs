using Ferry.Kafka.Handlers;
using Microsoft.Extensions.DependencyInjection;

namespace Ferry.Kafka.Tests.Handlers;

public sealed class HandlerRegistrationTests
{
    // The handlers are listed by hand (no reflection in the native binary); a new handler left off the list
    // would be an API that ApiVersions never advertises.
    [Fact]
    public void EveryHandlerTypeIsRegistered()
    {
        var handlerTypes = typeof(IKafkaHandler).Assembly.GetTypes()
            .Where(t => t is { IsClass: true, IsAbstract: false } && typeof(IKafkaHandler).IsAssignableFrom(t))
            .Select(t => t.FullName)
            .Order()
            .ToList();

        var registered = new ServiceCollection().AddFerryKafka()
            .Where(d => d.ServiceType == typeof(IKafkaHandler))
            .Select(d => d.ImplementationType!.FullName)
            .Order()
            .ToList();

        Assert.NotEmpty(handlerTypes);
        Assert.Equal(handlerTypes, registered);
    }
}
