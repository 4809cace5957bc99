using System.Buffers;
using System.Reflection;
using Ferry.Kafka.Protocol;

namespace Ferry.Kafka.Tests.Protocol;

internal static class Codec
{
    public static byte[] Encode(IKafkaMessage message, short version)
    {
        var buffer = new ArrayBufferWriter<byte>();
        message.Write(new KafkaWriter(buffer), version);
        return buffer.WrittenSpan.ToArray();
    }

    public static T Decode<T>(ReadOnlyMemory<byte> bytes, short version)
        where T : IKafkaMessage, new()
    {
        var message = new T();
        var reader = new KafkaReader(bytes);
        message.Read(ref reader, version);
        Assert.True(reader.IsAtEnd, $"{typeof(T).Name} v{version} left {reader.Remaining} bytes unread");
        return message;
    }

    /// <summary>Every generated message class (requests, responses, headers), by name.</summary>
    public static IReadOnlyDictionary<string, Type> MessageTypes { get; } = typeof(IKafkaMessage).Assembly.GetTypes()
        .Where(t => t.IsClass && typeof(IKafkaMessage).IsAssignableFrom(t))
        .ToDictionary(t => t.Name, StringComparer.Ordinal);

    public static (short Lowest, short Highest) Versions(Type type) =>
        ((short)type.GetField("LowestSupportedVersion")!.GetValue(null)!,
            (short)type.GetField("HighestSupportedVersion")!.GetValue(null)!);

    public static IKafkaMessage Create(Type type) => (IKafkaMessage)Activator.CreateInstance(type)!;

    public static IKafkaMessage Fill(Type type)
    {
        MethodInfo fill = typeof(MessageFiller).GetMethod(nameof(MessageFiller.Fill))!.MakeGenericMethod(type);
        return (IKafkaMessage)fill.Invoke(new MessageFiller(), null)!;
    }

    /// <summary>Reads <paramref name="bytes"/> as a new <paramref name="type"/>; checks all bytes were consumed.</summary>
    public static IKafkaMessage Decode(Type type, ReadOnlyMemory<byte> bytes, short version)
    {
        IKafkaMessage message = Create(type);
        var reader = new KafkaReader(bytes);
        message.Read(ref reader, version);
        Assert.True(reader.IsAtEnd, $"{type.Name} v{version} left {reader.Remaining} bytes unread");
        return message;
    }
}
