# One image for the operator and the runner: `switchyard-operator` (the entry point) and `switchyard-runner` (the
# command of the CronJobs, watcher Deployments and cleanup Jobs the operator creates).
#   docker build -t switchyard:0.1.0 .
# test/e2e/image/ runs these steps outside a container and starts both entry points: keep to what it interprets
# (ARG before FROM; FROM, WORKDIR, COPY, RUN, ENV, USER, EXPOSE, ENTRYPOINT; RUN with paths relative to WORKDIR).

# Keep in step with the devDependency "node" in package.json.
ARG NODE_VERSION=24.21.0

FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: nothing here needs an install script (the "node" devDependency would only fetch a second Node.js).
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY operator ./operator
RUN npm run build
RUN npm prune --omit=dev --ignore-scripts --no-audit --no-fund
# The entry points (with the operator's heap settings) find dist/ beside their own folder, so they work wherever /app is.
COPY bin ./bin

FROM node:${NODE_VERSION}-bookworm-slim
ENV NODE_ENV=production PATH=/app/bin:$PATH
WORKDIR /app
# Owned by root and not writable by the runtime user: the root filesystem can be mounted read-only.
# package.json stays for its "type": "module", which makes dist/*.js ES modules.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
# The node user of the base image, by number so that the kubelet can check runAsNonRoot.
USER 1000:1000
EXPOSE 8080
ENTRYPOINT ["switchyard-operator"]
