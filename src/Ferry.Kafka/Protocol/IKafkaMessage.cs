namespace Ferry.Kafka.Protocol;

/// <summary>
/// A generated Kafka request, response or header (Ferry.Kafka.Protocol.Messages), so that pipelines and
/// tests can read and write messages without knowing which one.
/// </summary>
public interface IKafkaMessage
{
    /// <summary>
    /// Reads the fields of <paramref name="version"/>; fields absent from that version keep their values
    /// (their defaults, on a new instance). Malformed input throws <see cref="KafkaProtocolException"/>.
    /// </summary>
    void Read(ref KafkaReader reader, short version);

    /// <summary>Writes the fields of <paramref name="version"/>; values of fields it lacks are skipped.</summary>
    void Write(KafkaWriter writer, short version);

    /// <summary>The number of bytes <see cref="Write"/> would write.</summary>
    int ComputeSize(short version);
}
