using Ferry.Amqp.Framing;
using Ferry.Amqp.Methods;

namespace Ferry.Amqp.Tests.Methods;

/// <summary>Random and mutated payloads fail only with <see cref="AmqpFrameException"/>, never anything else.</summary>
public sealed class MalformedInputTests
{
    private delegate void Decode(ReadOnlySpan<byte> payload);

    private static readonly Decode[] Decoders =
    [
        p => { var r = new AmqpReader(p); ConnectionStart.Read(ref r); },
        p => { var r = new AmqpReader(p); ConnectionStartOk.Read(ref r); },
        p => { var r = new AmqpReader(p); QueueDeclare.Read(ref r); },
        p => { var r = new AmqpReader(p); ExchangeDeclare.Read(ref r); },
        p => { var r = new AmqpReader(p); BasicPublish.Read(ref r); },
        p => { var r = new AmqpReader(p); BasicConsume.Read(ref r); },
        p => { var r = new AmqpReader(p); r.ReadTable(); },
        p => { var r = new AmqpReader(p); BasicProperties.Read(ref r); },
        p => ContentHeader.Read(p),
    ];

    [Fact]
    public void Decoders_RandomAndMutatedPayloads_ThrowOnlyFrameExceptions()
    {
        var random = new Random(12345);
        byte[] valid = TestBuffers.EncodeArguments(new QueueDeclare
        {
            Queue = "q",
            Arguments = new Dictionary<string, object?>
            {
                ["a"] = new List<object?> { 1, "s", new Dictionary<string, object?> { ["t"] = true } },
                ["b"] = new AmqpDecimal(1, 5),
            },
        });

        for (int i = 0; i < 20_000; i++)
        {
            byte[] payload;
            if (i % 2 == 0)
            {
                payload = new byte[random.Next(0, 64)];
                random.NextBytes(payload);
            }
            else
            {
                payload = [.. valid];
                payload[random.Next(payload.Length)] = (byte)random.Next(256);
                payload = payload[..random.Next(payload.Length + 1)];
            }

            foreach (Decode decode in Decoders)
            {
                try
                {
                    decode(payload);
                }
                catch (AmqpFrameException ex)
                {
                    Assert.Contains(ex.ReplyCode, new ushort[] { AmqpConstants.FrameError, AmqpConstants.SyntaxError });
                }
            }
        }
    }
}
