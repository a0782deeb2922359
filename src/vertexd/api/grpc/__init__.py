"""gRPC: the official clients' default transport (JobService, PipelineService, ModelService,
google.longrunning.Operations) over the same services as REST. Importing the package is
cheap; `vertexd.api.grpc.server.grpc_endpoint` loads the message types."""
