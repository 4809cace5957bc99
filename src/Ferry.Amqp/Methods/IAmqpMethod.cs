using Ferry.Amqp.Framing;

namespace Ferry.Amqp.Methods;

/// <summary>
/// A method's arguments (spec 4.2.4), implemented by the generated method types. <see cref="Read"/> and
/// <see cref="Write"/> cover the arguments only; class id and method id are read by
/// <see cref="AmqpReader.ReadMethodId"/> to dispatch and written by <see cref="AmqpFrameWriter.WriteMethod{TMethod}"/>.
/// </summary>
public interface IAmqpMethod<TSelf>
    where TSelf : struct, IAmqpMethod<TSelf>
{
    static abstract AmqpMethodId Id { get; }

    static abstract TSelf Read(ref AmqpReader reader);

    /// <summary>Encoded size of the arguments in bytes.</summary>
    int GetSize();

    void Write(ref AmqpWriter writer);
}
