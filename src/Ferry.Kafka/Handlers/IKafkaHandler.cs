using Ferry.Kafka.Protocol;
using Ferry.Kafka.Server;

namespace Ferry.Kafka.Handlers;

/// <summary>
/// One Kafka API: its key and the version range Ferry supports (what ApiVersions advertises), and how a
/// request body becomes a response.
/// </summary>
public interface IKafkaHandler
{
    short ApiKey { get; }
    short MinVersion { get; }
    short MaxVersion { get; }

    /// <summary>
    /// Parses <paramref name="body"/> and starts handling it. Everything that must happen in request order
    /// (appends above all) happens before the first await; what waits (fsync, long-poll) runs on while the
    /// connection reads its next request. A null response means none is sent (Produce with acks=0).
    /// <paramref name="body"/> is valid only until this method returns: its buffer goes back to the pool then.
    /// </summary>
    ValueTask<IKafkaMessage?> HandleAsync(KafkaRequestContext context, ReadOnlyMemory<byte> body);

    /// <summary>
    /// The answer to a request at a version outside <see cref="MinVersion"/>..<see cref="MaxVersion"/> that the
    /// message schema can still read and write (Fetch v0–3, which Kafka 4 dropped, for one): every error slot
    /// carries <paramref name="errorCode"/>, as Kafka's <c>getErrorResponse</c> does, so the client learns why
    /// instead of seeing its connection drop. Null when the version cannot be encoded; the connection closes then.
    /// </summary>
    IKafkaMessage? ErrorResponse(ReadOnlyMemory<byte> body, short version, short errorCode);
}

/// <summary>Base for handlers: parses the generated request type, then hands it to <see cref="HandleAsync(KafkaRequestContext, TRequest)"/>.</summary>
public abstract class KafkaHandler<TRequest> : IKafkaHandler where TRequest : IKafkaMessage, new()
{
    public abstract short ApiKey { get; }
    public abstract short MinVersion { get; }
    public abstract short MaxVersion { get; }

    public ValueTask<IKafkaMessage?> HandleAsync(KafkaRequestContext context, ReadOnlyMemory<byte> body)
    {
        var request = new TRequest();
        var reader = new KafkaReader(body);
        request.Read(ref reader, context.ApiVersion);
        return HandleAsync(context, request);
    }

    protected abstract ValueTask<IKafkaMessage?> HandleAsync(KafkaRequestContext context, TRequest request);

    public IKafkaMessage? ErrorResponse(ReadOnlyMemory<byte> body, short version, short errorCode)
    {
        var request = new TRequest();
        try
        {
            var reader = new KafkaReader(body);
            request.Read(ref reader, version);
        }
        catch (KafkaProtocolException)
        {
            return null; // beyond what the schema knows: nothing the client could parse
        }
        return ErrorResponse(request, version, errorCode);
    }

    /// <summary>The response to <paramref name="request"/> with <paramref name="errorCode"/> in every error slot; null where a handler has none.</summary>
    protected virtual IKafkaMessage? ErrorResponse(TRequest request, short version, short errorCode) => null;
}
