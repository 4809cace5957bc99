using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using Ferry.Amqp.Framing;
using Ferry.Amqp.Methods;
using Ferry.Fuzz.Targets;
using Ferry.Kafka.Protocol;
using Ferry.Kafka.Protocol.Messages;
using Ferry.Kafka.Tests.Protocol;
using Ferry.Storage.Records;
using K4os.Compression.LZ4.Streams;
using ZstdSharp;

namespace Ferry.Fuzz.Seeds;

/// <summary>
/// Writes the committed seed corpus (<c>Ferry.Fuzz seeds fuzz/corpus</c>) from the codecs themselves: every Kafka
/// request at every version its schema defines, filled as the round-trip tests fill it (MessageFiller), with a real
/// record batch in Produce; record batches in every codec and a bomb; an AMQP session as RabbitMQ.Client opens it
/// (handshake, declare with arguments, publish with properties and headers, consume, ack) and every method;
/// the admin API's documented request bodies. Deterministic, so a regeneration shows as no diff.
/// </summary>
internal static class SeedCorpus
{
    public static void Write(string root)
    {
        Kafka(Path.Combine(root, "kafka-request"));
        Records(Path.Combine(root, "record-batch"));
        Amqp(root);
        AdminJson(Path.Combine(root, "admin-json"));
    }

    private static void Save(string folder, string name, ReadOnlySpan<byte> bytes)
    {
        Directory.CreateDirectory(folder);
        File.WriteAllBytes(Path.Combine(folder, name), bytes.ToArray());
    }

    private static void Kafka(string folder)
    {
        var batch = Batch();
        foreach (var api in ApiKeys.All)
        {
            var type = typeof(RequestHeader).Assembly.GetType($"{typeof(RequestHeader).Namespace}.{api.Name}Request", throwOnError: true)!;
            for (short version = api.MinVersion; version <= api.MaxVersion; version++)
            {
                var request = (IKafkaMessage)typeof(MessageFiller).GetMethod(nameof(MessageFiller.Fill))!.MakeGenericMethod(type).Invoke(new MessageFiller(), null)!;
                if (request is ProduceRequest produce)
                {
                    foreach (var partition in produce.TopicData.SelectMany(t => t.PartitionData)) partition.Records = batch;
                    produce.TransactionalId = null;
                }
                var header = new RequestHeader { RequestApiKey = api.ApiKey, RequestApiVersion = version, CorrelationId = version + 1, ClientId = "rdkafka" };
                var body = new ArrayBufferWriter<byte>();
                header.Write(new KafkaWriter(body), ApiKeys.RequestHeaderVersion(api.ApiKey, version));
                request.Write(new KafkaWriter(body), version);
                var frame = new byte[4 + body.WrittenCount];
                BinaryPrimitives.WriteInt32BigEndian(frame, body.WrittenCount);
                body.WrittenSpan.CopyTo(frame.AsSpan(4));
                Save(folder, $"{api.Name}-v{version}", frame);
            }
        }
    }

    private static byte[] Batch(int records = 3, int valueBytes = 20)
    {
        var builder = new RecordBatchBuilder { ProducerId = 7, ProducerEpoch = 0, BaseSequence = 0 };
        for (int i = 0; i < records; i++)
        {
            byte[] value = Encoding.UTF8.GetBytes(new string((char)('a' + i % 26), valueBytes));
            RecordHeader[] headers = i % 2 == 0 ? [new(Encoding.UTF8.GetBytes("trace"), Encoding.UTF8.GetBytes("id-" + i))] : [];
            builder.Add(Encoding.UTF8.GetBytes("key-" + i), value, 1_700_000_000_000 + i, headers, nullKey: i == 2);
        }
        return builder.ToArray();
    }

    /// <summary>The records section of <paramref name="plain"/> compressed with <paramref name="codec"/>, CRC recomputed.</summary>
    private static byte[] Compress(byte[] plain, int codec)
    {
        var records = plain.AsSpan(RecordBatch.HeaderSize).ToArray();
        var output = new MemoryStream();
        switch (codec)
        {
            case RecordBatchCompression.Gzip:
                using (var gzip = new GZipStream(output, CompressionLevel.Optimal, leaveOpen: true)) gzip.Write(records);
                break;
            case RecordBatchCompression.Snappy:
                output.Write(Snappier.Snappy.CompressToArray(records));
                break;
            case RecordBatchCompression.Lz4:
                using (var lz4 = LZ4Stream.Encode(output, leaveOpen: true)) lz4.Write(records);
                break;
            default:
                using (var zstd = new CompressionStream(output, leaveOpen: true)) zstd.Write(records);
                break;
        }
        var batch = new byte[RecordBatch.HeaderSize + output.Length];
        plain.AsSpan(0, RecordBatch.HeaderSize).CopyTo(batch);
        output.ToArray().CopyTo(batch.AsSpan(RecordBatch.HeaderSize));
        BinaryPrimitives.WriteInt32BigEndian(batch.AsSpan(RecordBatch.LengthOffset), batch.Length - RecordBatch.LogOverhead);
        BinaryPrimitives.WriteInt16BigEndian(batch.AsSpan(RecordBatch.AttributesOffset), (short)codec);
        RecordBatch.WriteCrc(batch);
        return batch;
    }

    /// <summary>Xerial-framed snappy, as the Java client writes it.</summary>
    private static byte[] Xerial(byte[] plain)
    {
        byte[] block = Snappier.Snappy.CompressToArray(plain.AsSpan(RecordBatch.HeaderSize));
        var framed = new byte[16 + 4 + block.Length];
        framed[0] = 0x82;
        "SNAPPY\0"u8.CopyTo(framed.AsSpan(1));
        BinaryPrimitives.WriteInt32BigEndian(framed.AsSpan(8), 1);
        BinaryPrimitives.WriteInt32BigEndian(framed.AsSpan(12), 1);
        BinaryPrimitives.WriteInt32BigEndian(framed.AsSpan(16), block.Length);
        block.CopyTo(framed, 20);
        var batch = new byte[RecordBatch.HeaderSize + framed.Length];
        plain.AsSpan(0, RecordBatch.HeaderSize).CopyTo(batch);
        framed.CopyTo(batch, RecordBatch.HeaderSize);
        BinaryPrimitives.WriteInt32BigEndian(batch.AsSpan(RecordBatch.LengthOffset), batch.Length - RecordBatch.LogOverhead);
        BinaryPrimitives.WriteInt16BigEndian(batch.AsSpan(RecordBatch.AttributesOffset), RecordBatchCompression.Snappy);
        RecordBatch.WriteCrc(batch);
        return batch;
    }

    private static void Records(string folder)
    {
        var plain = Batch();
        Save(folder, "plain", plain);
        Save(folder, "two-batches", [.. plain, .. Batch(records: 1)]);
        Save(folder, "gzip", Compress(plain, RecordBatchCompression.Gzip));
        Save(folder, "snappy-raw", Compress(plain, RecordBatchCompression.Snappy));
        Save(folder, "snappy-xerial", Xerial(plain));
        Save(folder, "lz4", Compress(plain, RecordBatchCompression.Lz4));
        Save(folder, "zstd", Compress(plain, RecordBatchCompression.Zstd));
        // Bombs: a few hundred bytes that inflate to 4 MiB, four times the target's cap.
        var big = Batch(records: 4, valueBytes: 1 << 20);
        Save(folder, "bomb-gzip", Compress(big, RecordBatchCompression.Gzip));
        Save(folder, "bomb-zstd", Compress(big, RecordBatchCompression.Zstd));
        Save(folder, "bomb-lz4", Compress(big, RecordBatchCompression.Lz4));
    }

    private static Dictionary<string, object?> ClientProperties() => new(StringComparer.Ordinal)
    {
        ["product"] = "RabbitMQ .NET Client",
        ["version"] = "7.2.2",
        ["platform"] = ".NET",
        ["capabilities"] = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["publisher_confirms"] = true,
            ["exchange_exchange_bindings"] = true,
            ["basic.nack"] = true,
            ["consumer_cancel_notify"] = true,
            ["connection.blocked"] = true,
            ["authentication_failure_close"] = true,
        },
        ["connection_name"] = "fuzz",
    };

    private static Dictionary<string, object?> Arguments() => new(StringComparer.Ordinal)
    {
        ["x-message-ttl"] = 60000,
        ["x-max-length"] = 1000L,
        ["x-dead-letter-exchange"] = "dlx",
        ["x-single-active-consumer"] = false,
        ["x-priority"] = (byte)5,
        ["x-list"] = new List<object?> { 1, "two", 3.0, null, new byte[] { 1, 2 } },
        ["x-nested"] = new Dictionary<string, object?>(StringComparer.Ordinal) { ["depth"] = (short)2 },
    };

    private static void Amqp(string root)
    {
        var session = new ArrayBufferWriter<byte>();
        var methods = new List<byte[]>();
        var headers = new List<byte[]>();
        void Method<T>(ushort channel, in T method) where T : struct, IAmqpMethod<T>
        {
            int start = session.WrittenCount;
            AmqpFrameWriter.WriteMethod(session, channel, method);
            methods.Add(session.WrittenSpan[(start + AmqpFrame.HeaderSize)..^1].ToArray());
        }

        AmqpFrameWriter.WriteProtocolHeader(session);
        Method(0, new ConnectionStartOk { ClientProperties = ClientProperties(), Mechanism = "PLAIN", Response = "\0guest\0guest", Locale = "en_US" });
        Method(0, new ConnectionTuneOk { ChannelMax = 2047, FrameMax = 131072, Heartbeat = 60 });
        Method(0, new ConnectionOpen { VirtualHost = "/" });
        Method(1, new ChannelOpen());
        Method(1, new ConfirmSelect());
        Method(1, new BasicQos { PrefetchCount = 10 });
        Method(1, new ExchangeDeclare { Exchange = "logs", Type = "topic", Durable = true, Arguments = Arguments() });
        Method(1, new QueueDeclare { Queue = "jobs", Durable = true, Arguments = Arguments() });
        Method(1, new QueueBind { Queue = "jobs", Exchange = "logs", RoutingKey = "a.*.c", Arguments = Arguments() });
        Method(1, new BasicPublish { Exchange = "logs", RoutingKey = "a.b.c", Mandatory = true });
        var properties = new BasicProperties
        {
            ContentType = "application/json", ContentEncoding = "utf-8", Headers = Arguments(), DeliveryMode = 2, Priority = 3,
            CorrelationId = "c1", ReplyTo = "amq.rabbitmq.reply-to", Expiration = "60000", MessageId = "m1",
            Timestamp = new AmqpTimestamp(1_700_000_000), Type = "t", UserId = "guest", AppId = "fuzz", ClusterId = "",
        };
        int headerStart = session.WrittenCount;
        AmqpFrameWriter.WriteContentHeader(session, 1, 5, properties);
        headers.Add(session.WrittenSpan[(headerStart + AmqpFrame.HeaderSize)..^1].ToArray());
        AmqpFrameWriter.WriteBody(session, 1, "hello"u8, 131072);
        headerStart = session.WrittenCount;
        AmqpFrameWriter.WriteContentHeader(session, 1, 0, null);
        headers.Add(session.WrittenSpan[(headerStart + AmqpFrame.HeaderSize)..^1].ToArray());
        Method(1, new BasicConsume { Queue = "jobs", ConsumerTag = "ctag", Arguments = new Dictionary<string, object?>(StringComparer.Ordinal) { ["x-priority"] = 10 } });
        Method(1, new BasicAck { DeliveryTag = 1, Multiple = true });
        Method(1, new BasicNack { DeliveryTag = 2, Requeue = true });
        Method(1, new BasicReject { DeliveryTag = 3 });
        Method(1, new BasicGet { Queue = "jobs", NoAck = true });
        Method(1, new TxSelect());
        Method(1, new TxCommit());
        Method(1, new BasicCancel { ConsumerTag = "ctag" });
        Method(1, new QueueDelete { Queue = "jobs", IfEmpty = true });
        Method(1, new ChannelClose { ReplyCode = 200, ReplyText = "Goodbye" });
        Method(0, new ConnectionClose { ReplyCode = 200, ReplyText = "Goodbye" });
        AmqpFrameWriter.WriteHeartbeat(session);
        Save(Path.Combine(root, "amqp-frame"), "rabbitmq-client-session", session.WrittenSpan);

        // Every method of the definition with its defaults, each alone after the protocol header too.
        foreach (var type in typeof(AmqpMethodId).Assembly.GetTypes().Where(t => t.IsValueType && t.GetInterfaces().Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IAmqpMethod<>))).OrderBy(t => t.Name, StringComparer.Ordinal))
        {
            var single = new ArrayBufferWriter<byte>();
            var write = typeof(AmqpFrameWriter).GetMethod(nameof(AmqpFrameWriter.WriteMethod))!.MakeGenericMethod(type);
            write.Invoke(null, [single, (ushort)1, Activator.CreateInstance(type)]);
            Save(Path.Combine(root, "amqp-method"), type.Name, single.WrittenSpan[AmqpFrame.HeaderSize..^1]);
        }
        for (int i = 0; i < methods.Count; i++) Save(Path.Combine(root, "amqp-method"), $"session-{i:D2}", methods[i]);
        for (int i = 0; i < headers.Count; i++) Save(Path.Combine(root, "amqp-content-header"), $"publish-{i}", headers[i]);

        var table = new byte[AmqpWriter.GetTableSize(Arguments())];
        var writer = new AmqpWriter(table);
        writer.WriteTable(Arguments());
        Save(Path.Combine(root, "amqp-field-table"), "queue-arguments", table.AsSpan(4));
        table = new byte[AmqpWriter.GetTableSize(ClientProperties())];
        writer = new AmqpWriter(table);
        writer.WriteTable(ClientProperties());
        Save(Path.Combine(root, "amqp-field-table"), "client-properties", table.AsSpan(4));
    }

    private static void AdminJson(string folder)
    {
        string[][] bodies =
        [
            ["""{"name":"orders","partitions":3,"configs":{"retention.ms":"86400000","cleanup.policy":"compact"},"replicationFactor":1}""", """{"name":"t"}"""],
            ["""{"set":{"retention.ms":"1000"},"delete":["segment.bytes"],"partitions":6}""", "{}"],
            ["""{"records":[{"key":"k1","value":"hello","headers":{"trace":"1"},"partition":0,"timestamp":1700000000000},{"key":null,"value":null}]}"""],
            ["""{"durable":true,"autoDelete":false,"arguments":{"x-message-ttl":"60000","x-queue-type":"classic"}}"""],
            ["""{"topic":"orders","partitions":[0,1,2],"to":"offset","value":42,"dryRun":true}""", """{"to":"earliest"}"""],
            ["""{"password":"s3cret","tags":"administrator"}""", """{"password":null,"tags":null}"""],
        ];
        for (int model = 0; model < bodies.Length; model++)
        {
            for (int i = 0; i < bodies[model].Length; i++)
            {
                Save(folder, $"{AdminJsonTarget.Models[model]}-{i}", [(byte)model, .. Encoding.UTF8.GetBytes(bodies[model][i])]);
            }
        }
    }
}
