using Ferry.Kafka;
using Microsoft.Extensions.Options;

namespace Ferry.Configuration;

// The checks the data annotations on the settings classes describe, generated at compile time: validation by
// reflection (ValidateDataAnnotations) does not survive the ahead-of-time compiled, trimmed binary.

[OptionsValidator]
internal sealed partial class FerryOptionsValidator : IValidateOptions<FerryOptions>;

[OptionsValidator]
internal sealed partial class KafkaOptionsValidator : IValidateOptions<KafkaOptions>;
