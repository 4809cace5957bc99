using System.Globalization;
using Ferry.Load;
using Ferry.Load.Amqp;
using Ferry.Load.Kafka;
using Ferry.Load.Nats;

// Load generator with real clients. Each run prints one JSON line (bench/run collects them; Ferry.Report
// turns them into tables and charts) and exits non-zero when the exactly-once check fails.
var options = LoadOptions.Parse(args);
return options.Scenario switch
{
    "kafka" => await KafkaScenario.RunAsync(options),
    "kafka-produce" => await KafkaProduceScenario.RunAsync(options),
    "amqp" => await AmqpScenario.RunAsync(options),
    "nats" => await NatsScenario.RunAsync(options),
    "disk" => Ferry.Load.Limits.DiskLimits.Run(args[1..]),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("""
        usage: Ferry.Load disk [--dir DIR] [--mib 1024] [--seconds 3]   (the data disk's limits)
               Ferry.Load SCENARIO --target HOST:PORT [--size BYTES] [--seconds S] [--rate MSG_PER_S] [--label NAME]
          kafka          one producer, one consumer, one partition   [--acks all|1]
          kafka-produce  N producers on N partitions, then read back  [--acks all|1] [--producers 3] [--client librdkafka|wire|txn]
                         both Kafka scenarios: [--replication-factor 1] of the run's topic (-1: the cluster's default)
          amqp           one publisher, one consumer                  [--durable true|false]
                           true: durable queue, persistent messages, confirms (<= 1000 in flight), manual ack, prefetch 1000
                           false: transient queue and messages, no confirms, auto-ack
                         [--queue-type classic|quorum] (quorum: x-queue-type quorum, with --durable true)
          nats           JetStream file stream, async publish with acks (<= 1000 in flight), durable pull consumer, explicit ack
        --rate 0 (default) measures maximum throughput; a rate paces the publisher and measures publish-to-consume latency.
        """);
    return 2;
}

namespace Ferry.Load
{
    internal sealed record LoadOptions(
        string Scenario, string Target, int Size, double Seconds, string Acks, int Rate, string Label,
        bool Durable, int Producers, int InFlight, int Prefetch, string Client, string QueueType, short ReplicationFactor)
    {
        /// <summary>Latency samples start after this warm-up (connections, metadata, first fetch, JIT): 1 s, or half of a shorter run.</summary>
        public long WarmupSequences => Rate <= 0 ? long.MaxValue : (long)(Rate * Math.Min(1.0, Seconds * 0.5));

        /// <summary><see cref="Target"/> (HOST:PORT) apart, for clients that take them separately.</summary>
        public (string Host, int Port) TargetHostAndPort
        {
            get
            {
                int colon = Target.LastIndexOf(':');
                return (Target[..colon], int.Parse(Target[(colon + 1)..], CultureInfo.InvariantCulture));
            }
        }

        public static LoadOptions Parse(string[] args)
        {
            string Arg(string name, string fallback)
            {
                int i = Array.IndexOf(args, name);
                return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
            }
            string scenario = args.FirstOrDefault() ?? "";
            string defaultTarget = scenario switch { "amqp" => "127.0.0.1:5672", "nats" => "127.0.0.1:4222", _ => "127.0.0.1:9092" };
            return new LoadOptions(
                scenario,
                Arg("--target", Arg("--bootstrap", defaultTarget)),
                Math.Max(int.Parse(Arg("--size", "100"), CultureInfo.InvariantCulture), Common.Stamp.Size),
                double.Parse(Arg("--seconds", "10"), CultureInfo.InvariantCulture),
                Arg("--acks", "all"),
                int.Parse(Arg("--rate", "0"), CultureInfo.InvariantCulture),
                Arg("--label", "ferry"),
                bool.Parse(Arg("--durable", "true")),
                int.Parse(Arg("--producers", "3"), CultureInfo.InvariantCulture),
                int.Parse(Arg("--in-flight", "1000"), CultureInfo.InvariantCulture),
                int.Parse(Arg("--prefetch", "1000"), CultureInfo.InvariantCulture),
                Arg("--client", "librdkafka"),
                Arg("--queue-type", "classic"),
                short.Parse(Arg("--replication-factor", "1"), CultureInfo.InvariantCulture));
        }
    }
}
