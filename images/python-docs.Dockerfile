# A documentation corpus for the demo and for offline research: Debian's HTML documentation of Python 3.11, served
# by Python's own web server on port 8000 (a stack's local search provider indexes the same files, copied from
# this image by an init container).
#   docker build -f images/python-docs.Dockerfile -t fathom-stack/python-docs:0.1.0 .
FROM python:3.11-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3.11-doc \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --uid 1000 --user-group --no-create-home fathom
USER 1000:1000
EXPOSE 8000
ENTRYPOINT ["python3", "-m", "http.server", "8000", "--directory", "/usr/share/doc/python3.11-doc/html"]
