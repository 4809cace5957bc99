using Ferry.Fuzz.Targets;

namespace Ferry.Fuzz;

/// <summary>Every target, by name.</summary>
internal static class FuzzTargets
{
    public static IReadOnlyList<IFuzzTarget> All { get; } =
    [
        new KafkaRequestTarget(),
        new RecordBatchTarget(),
        new AmqpFrameTarget(),
        new AmqpMethodTarget(),
        new AmqpFieldTableTarget(),
        new AmqpContentHeaderTarget(),
        new AdminJsonTarget(),
    ];

    public static IFuzzTarget? Find(string name) => All.FirstOrDefault(t => string.Equals(t.Name, name, StringComparison.Ordinal));
}
