namespace Ferry.Kafka.Handlers;

/// <summary>Every API Ferry answers, by key: the one list that ApiVersions advertises and the pipeline dispatches on.</summary>
public sealed class KafkaHandlerRegistry
{
    private readonly IKafkaHandler?[] _byKey;

    public KafkaHandlerRegistry(IEnumerable<IKafkaHandler> handlers)
    {
        All = handlers.OrderBy(h => h.ApiKey).ToArray();
        _byKey = new IKafkaHandler?[All.Max(h => h.ApiKey) + 1];
        foreach (var handler in All)
        {
            if (_byKey[handler.ApiKey] is not null) throw new InvalidOperationException($"Two handlers for API key {handler.ApiKey}.");
            _byKey[handler.ApiKey] = handler;
        }
    }

    public IReadOnlyList<IKafkaHandler> All { get; }

    public IKafkaHandler? Find(short apiKey) => (uint)apiKey < (uint)_byKey.Length ? _byKey[apiKey] : null;
}
