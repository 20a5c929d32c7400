namespace SensorPipeline.Benchmarks;

/// <summary>A device's credentials and MQTT endpoint as <c>POST /api/devices</c> answered them.</summary>
internal sealed record EnrolledDevice(string Id, string CertificatePem, string PrivateKeyPem, string CaPem, string Host, int Port, string Topic);
