using Ferry.Kafka.Protocol;
using Ferry.Kafka.Protocol.Messages;
using Ferry.Kafka.Server;

namespace Ferry.Kafka.Handlers;

/// <summary>ApiVersions: the APIs and version ranges Ferry serves, from the handler registry.</summary>
public sealed class ApiVersionsHandler(IServiceProvider services) : KafkaHandler<ApiVersionsRequest>
{
    public override short ApiKey => ApiKeys.ApiVersions;
    public override short MinVersion => 0;
    public override short MaxVersion => 4;

    // The registry holds this handler too, so it is resolved on first use rather than injected.
    private KafkaHandlerRegistry Registry => (KafkaHandlerRegistry)services.GetService(typeof(KafkaHandlerRegistry))!;

    protected override ValueTask<IKafkaMessage?> HandleAsync(KafkaRequestContext context, ApiVersionsRequest request) =>
        new(Build(Registry, ErrorCodes.None));

    /// <summary>The answer to a version Ferry does not know: error 35 and the ranges, in v0 format (KIP-511).</summary>
    public static ApiVersionsResponse Unsupported(KafkaHandlerRegistry registry) => Build(registry, ErrorCodes.UnsupportedVersion);

    private static ApiVersionsResponse Build(KafkaHandlerRegistry registry, short errorCode) => new()
    {
        ErrorCode = errorCode,
        ApiKeys = registry.All
            .Select(h => new ApiVersionsResponse.ApiVersion { ApiKey = h.ApiKey, MinVersion = h.MinVersion, MaxVersion = h.MaxVersion })
            .ToList(),
    };
}
