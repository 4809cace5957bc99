using System.Globalization;
using Ferry.Load;
using Ferry.Load.Kafka;

// Load generator with real clients. Each run prints one JSON line per measurement and a Markdown row.
//   Ferry.Load kafka --bootstrap HOST:PORT [--size 100] [--seconds 10] [--acks all|1] [--rate N] [--label NAME]
var options = LoadOptions.Parse(args);
return options.Scenario switch
{
    "kafka" => await KafkaScenario.RunAsync(options),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: Ferry.Load kafka --bootstrap HOST:PORT [--size BYTES] [--seconds S] [--acks all|1] [--rate MSG_PER_S] [--label NAME]");
    return 2;
}

namespace Ferry.Load
{
    internal sealed record LoadOptions(string Scenario, string Target, int Size, double Seconds, string Acks, int Rate, string Label)
    {
        public static LoadOptions Parse(string[] args)
        {
            string Arg(string name, string fallback)
            {
                int i = Array.IndexOf(args, name);
                return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
            }
            return new LoadOptions(
                args.FirstOrDefault() ?? "",
                Arg("--bootstrap", "127.0.0.1:9092"),
                int.Parse(Arg("--size", "100"), CultureInfo.InvariantCulture),
                double.Parse(Arg("--seconds", "10"), CultureInfo.InvariantCulture),
                Arg("--acks", "all"),
                int.Parse(Arg("--rate", "0"), CultureInfo.InvariantCulture),
                Arg("--label", "ferry"));
        }
    }
}
