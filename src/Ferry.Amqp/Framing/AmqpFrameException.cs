using System.Diagnostics.CodeAnalysis;
using Ferry.Amqp.Methods;

namespace Ferry.Amqp.Framing;

/// <summary>
/// Malformed input on an AMQP connection. <see cref="ReplyCode"/> is the connection exception to send in
/// <c>connection.close</c> before closing (501 frame-error, 502 syntax-error, ...).
/// </summary>
public sealed class AmqpFrameException : Exception
{
    public AmqpFrameException(ushort replyCode, string message)
        : base(message)
    {
        ReplyCode = replyCode;
    }

    public ushort ReplyCode { get; }

    [DoesNotReturn]
    internal static void ThrowFrameError(string message) =>
        throw new AmqpFrameException(AmqpConstants.FrameError, message);

    [DoesNotReturn]
    internal static void ThrowSyntaxError(string message) =>
        throw new AmqpFrameException(AmqpConstants.SyntaxError, message);

    [DoesNotReturn]
    internal static void ThrowTruncated(int needed, int remaining) =>
        throw new AmqpFrameException(
            AmqpConstants.SyntaxError,
            $"Truncated argument: {needed} bytes needed, {remaining} remain in the frame.");
}
