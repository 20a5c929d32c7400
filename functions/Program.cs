using SensorPipeline.Functions.Hosting;

// One program, two hosts: started by the official Azure Functions host, it is the real isolated
// worker; started by a person (start, migrate, recalibrate), it is our portable host's CLI.
return WorkerHost.IsStartedByFunctionsHost(args)
    ? await WorkerHost.RunAsync(args)
    : await Cli.RunAsync(args);
