"""``deepphoto batch``: many videos and photos styled the same way, on Ray, from one machine to a cluster.

inputs    files, folders and list files -> work items (source, output, kind, size, mtime)
chunks    a video cut at keyframes into chunks, each read with warm-up frames before its start
join      chunk files joined without re-encoding, the source's audio copied in
manifest  what is done, in the output folder, so a second run skips it
actors    Ray actors that open one ``Pipeline`` each and keep it
cluster   starting or joining Ray, sizing the workers, why a call failed, clearing leftovers
runner    scheduling, retries, progress
report    the outcome of every input and the final table
"""
